// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;
using HyperDbgRemote.Asm.Internal;

namespace HyperDbgRemote.Asm;

/// <content>One pass: every statement assembled at its address, label values from the previous pass.</content>
public static partial class TextAssembler
{
    private const int MaxAlignment = 1 << 16;

    private sealed record Pass(byte[] Bytes, Dictionary<string, ulong> Labels, int LastInstructionOffset);

    private static Pass AssembleOnce(
        List<Statement> statements, ulong origin, int bitness, Dictionary<string, long> constants, Dictionary<string, ulong> previous)
    {
        var output = new List<byte>();
        var labels = new Dictionary<string, ulong>(StringComparer.Ordinal);
        int lastInstruction = -1;
        ulong ip = origin;
        foreach (Statement s in statements)
        {
            try
            {
                if (s.Label is string label)
                {
                    labels[label] = ip;
                    continue;
                }

                string mnemonic = s.Mnemonic!;
                if (IsEqu(s.Operands))
                {
                    if (previous.ContainsKey(s.Head) || IsRegister(s.Head))
                    {
                        throw new AssemblyException($"'{s.Head}' is already a label or a register");
                    }

                    constants[s.Head] = ExpressionParser.Evaluate(s.Operands[3..].Trim(), constants, previous, ip);
                    continue;
                }

                bool isInstruction = false;
                byte[] bytes;
                switch (mnemonic)
                {
                    case "db" or "dw" or "dd" or "dq":
                        bytes = Data(mnemonic, s.Operands, constants, previous, ip);
                        break;
                    case "align":
                        bytes = Align(s.Operands, constants, previous, ip);
                        break;
                    default:
                        bytes = Instruction(mnemonic, s.Operands, bitness, constants, previous, ip);
                        isInstruction = true;
                        break;
                }

                if (isInstruction)
                {
                    lastInstruction = output.Count;
                }

                output.AddRange(bytes);
                ip = unchecked(ip + (ulong)bytes.Length);
            }
            catch (AssemblyException ex)
            {
                throw new AssemblyException($"{s.Describe()}: {ex.Message}", ex);
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or ArithmeticException or IndexOutOfRangeException
                or FormatException or NotSupportedException or System.Reflection.TargetInvocationException)
            {
                // Iced (or reflection over it) failed in a way the checks above did not foresee: still the statement's fault.
                throw new AssemblyException($"{s.Describe()}: cannot be assembled: {(ex.InnerException ?? ex).Message}", ex);
            }
        }

        return new Pass([.. output], labels, lastInstruction);
    }

    private static bool IsEqu(string operands) =>
        operands.Length >= 3 && operands.StartsWith("equ", StringComparison.OrdinalIgnoreCase) && (operands.Length == 3 || char.IsWhiteSpace(operands[3]));

    private static byte[] Align(string operands, Dictionary<string, long> constants, Dictionary<string, ulong> labels, ulong ip)
    {
        long n = ExpressionParser.Evaluate(operands, constants, labels, ip);
        if (n is < 1 or > MaxAlignment || (n & (n - 1)) != 0)
        {
            throw new AssemblyException($"align {n} is out of range: a power of two from 1 to {MaxAlignment}");
        }

        return new byte[(int)(((ulong)n - (ip % (ulong)n)) % (ulong)n)];
    }

    private static byte[] Data(string kind, string operands, Dictionary<string, long> constants, Dictionary<string, ulong> labels, ulong ip)
    {
        int size = kind switch { "db" => 1, "dw" => 2, "dd" => 4, _ => 8 };
        var bytes = new List<byte>();
        List<string> items = SplitOperands(operands);
        if (items.Count == 0)
        {
            throw new AssemblyException($"{kind} needs at least one value");
        }

        foreach (string item in items)
        {
            string t = item.Trim();
            if (t.Length >= 2 && t[0] == '"' && t[^1] == '"')
            {
                if (size != 1)
                {
                    throw new AssemblyException($"strings are only allowed in db, not in {kind}");
                }

                bytes.AddRange(Encoding.Latin1.GetBytes(Unescape(t[1..^1])));
                continue;
            }

            long v = ExpressionParser.Evaluate(t, constants, labels, ip);
            if (size < 8 && (v < -(1L << ((8 * size) - 1)) || v >= 1L << (8 * size)))
            {
                throw new AssemblyException($"value {Hex(v)} is out of range for {kind}");
            }

            for (int i = 0; i < size; i++)
            {
                bytes.Add((byte)(v >> (8 * i)));
            }
        }

        return [.. bytes];
    }

    private static string Hex(long v) => v < 0 ? $"-0x{unchecked((ulong)(-v)):X}" : $"0x{v:X}";

    private static string Unescape(string s)
    {
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] != '\\' || i + 1 >= s.Length)
            {
                sb.Append(s[i]);
                continue;
            }

            char e = s[++i];
            sb.Append(e switch { 'r' => '\r', 'n' => '\n', 't' => '\t', '0' => '\0', _ => e });
        }

        return sb.ToString();
    }

    /// <summary>Splits operands at commas outside brackets, parentheses and quotes.</summary>
    private static List<string> SplitOperands(string text)
    {
        var result = new List<string>();
        var sb = new StringBuilder();
        int depth = 0;
        char quote = '\0';
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quote != '\0')
            {
                if (c == '\\' && i + 1 < text.Length)
                {
                    sb.Append(c).Append(text[++i]);
                    continue;
                }

                quote = c == quote ? '\0' : quote;
            }
            else if (c is '"' or '\'')
            {
                quote = c;
            }
            else if (c is '[' or '(')
            {
                depth++;
            }
            else if (c is ']' or ')')
            {
                depth--;
            }
            else if (c == ',' && depth == 0)
            {
                result.Add(sb.ToString());
                sb.Clear();
                continue;
            }

            sb.Append(c);
        }

        if (result.Count > 0 || sb.ToString().Trim().Length > 0)
        {
            result.Add(sb.ToString());
        }

        return result;
    }
}
