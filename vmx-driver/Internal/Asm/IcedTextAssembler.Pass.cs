// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;
using System.Reflection;
using System.Text;
using Iced.Intel;

namespace HyperDbgRemote.VmxDriver.Internal.Asm;

/// <content>One pass: every statement assembled at its address, label values from the previous pass.</content>
internal static partial class IcedTextAssembler
{
    private static readonly HashSet<string> s_prefixes = new(StringComparer.OrdinalIgnoreCase) { "rep", "repe", "repz", "repne", "repnz", "lock" };

    private static (byte[] Bytes, Dictionary<string, ulong> Labels) AssembleOnce(
        List<Statement> statements, ulong origin, int bitness, Dictionary<string, long> constants, Dictionary<string, ulong> previous)
    {
        var output = new List<byte>();
        var labels = new Dictionary<string, ulong>(StringComparer.Ordinal);
        ulong ip = origin;
        foreach (Statement s in statements)
        {
            try
            {
                if (s.Label is string label)
                {
                    if (!labels.TryAdd(label, ip))
                    {
                        throw new AssemblyException($"label '{label}' is defined twice");
                    }

                    continue;
                }

                string mnemonic = s.Mnemonic!;
                if (s.Operands.StartsWith("equ ", StringComparison.OrdinalIgnoreCase) || s.Operands.StartsWith("equ\t", StringComparison.OrdinalIgnoreCase))
                {
                    constants[s.Head] = Evaluate(s.Operands[4..], constants, previous, ip);
                    continue;
                }

                byte[] bytes = mnemonic switch
                {
                    "db" or "dw" or "dd" or "dq" => Data(mnemonic, s.Operands, constants, previous, ip),
                    "align" => new byte[(int)((ulong)Evaluate(s.Operands, constants, previous, ip) - (ip % (ulong)Evaluate(s.Operands, constants, previous, ip))) % (int)Evaluate(s.Operands, constants, previous, ip)],
                    _ => Instruction(mnemonic, s.Operands, bitness, constants, previous, ip),
                };
                output.AddRange(bytes);
                ip += (ulong)bytes.Length;
            }
            catch (AssemblyException ex) when (!ex.Message.StartsWith("line ", StringComparison.Ordinal))
            {
                throw new AssemblyException($"line {s.Line}: '{s.Text}': {ex.Message}", ex);
            }
        }

        return ([.. output], labels);
    }

    private static byte[] Data(string kind, string operands, Dictionary<string, long> constants, Dictionary<string, ulong> labels, ulong ip)
    {
        int size = kind switch { "db" => 1, "dw" => 2, "dd" => 4, _ => 8 };
        var bytes = new List<byte>();
        foreach (string item in SplitOperands(operands))
        {
            string t = item.Trim();
            if (t.Length >= 2 && t[0] == '"' && t[^1] == '"')
            {
                bytes.AddRange(Encoding.Latin1.GetBytes(Unescape(t[1..^1])));
                continue;
            }

            long v = Evaluate(t, constants, labels, ip);
            for (int i = 0; i < size; i++)
            {
                bytes.Add((byte)(v >> (8 * i)));
            }
        }

        return [.. bytes];
    }

    private static string Unescape(string s) => s.Replace("\\r", "\r", StringComparison.Ordinal).Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\t", "\t", StringComparison.Ordinal).Replace("\\0", "\0", StringComparison.Ordinal).Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);

    private static byte[] Instruction(string mnemonic, string operandText, int bitness, Dictionary<string, long> constants, Dictionary<string, ulong> labels, ulong ip)
    {
        var a = new Assembler(bitness);
        Assembler target = a;
        while (s_prefixes.Contains(mnemonic))
        {
            PropertyInfo prefix = typeof(Assembler).GetProperty(mnemonic.ToLowerInvariant() is "repz" ? "repe" : mnemonic.ToLowerInvariant() is "repnz" ? "repne" : mnemonic.ToLowerInvariant())!;
            target = (Assembler)prefix.GetValue(target)!;
            string rest = operandText.Trim();
            int space = rest.IndexOfAny([' ', '\t']);
            mnemonic = (space < 0 ? rest : rest[..space]).ToLowerInvariant();
            operandText = space < 0 ? string.Empty : rest[(space + 1)..];
        }

        List<object> operands = [.. SplitOperands(operandText).Select(o => Operand(o.Trim(), constants, labels, ip))];
        MethodInfo[] candidates = [.. s_methods[mnemonic].Where(m => m.GetParameters().Length == operands.Count)];
        if (candidates.Length == 0)
        {
            throw new AssemblyException(s_methods[mnemonic].Any() ? $"'{mnemonic}' does not take {operands.Count} operand(s)" : $"unknown mnemonic '{mnemonic}'");
        }

        foreach (MethodInfo m in candidates.OrderBy(Rank))
        {
            object?[]? args = Convert(m.GetParameters(), operands);
            if (args is null)
            {
                continue;
            }

            try
            {
                m.Invoke(target, args);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is InvalidOperationException or ArgumentException)
            {
                continue;
            }

            using var stream = new MemoryStream();
            try
            {
                a.Assemble(new StreamCodeWriter(stream), ip);
            }
            catch (InvalidOperationException ex)
            {
                throw new AssemblyException(ex.Message, ex);
            }

            return stream.ToArray();
        }

        throw new AssemblyException($"no encoding of '{mnemonic} {operandText.Trim()}' exists");
    }

    /// <summary>Immediate parameter types in order of preference: sign-extended int first, as assemblers do.</summary>
    private static int Rank(MethodInfo m) => m.GetParameters().Sum(p => Array.IndexOf(s_immediateOrder, p.ParameterType) is int i and >= 0 ? i : 0);

    private static readonly Type[] s_immediateOrder = [typeof(int), typeof(long), typeof(uint), typeof(ulong), typeof(sbyte), typeof(byte), typeof(short), typeof(ushort)];

    private static object?[]? Convert(ParameterInfo[] parameters, List<object> operands)
    {
        object?[] args = new object?[operands.Count];
        for (int i = 0; i < operands.Count; i++)
        {
            Type p = parameters[i].ParameterType;
            object o = operands[i];
            if (o is long v)
            {
                object? converted = ConvertImmediate(v, p);
                if (converted is null)
                {
                    return null;
                }

                args[i] = converted;
            }
            else if (p.IsInstanceOfType(o))
            {
                args[i] = o;
            }
            else
            {
                return null;
            }
        }

        return args;
    }

#pragma warning disable CA1859 // The boxed result is what reflection's Invoke takes.
    private static object? ConvertImmediate(long v, Type p)
    {
        if (p == typeof(int))
        {
            return v is >= int.MinValue and <= int.MaxValue ? (int)v : null;
        }

        if (p == typeof(long))
        {
            return v;
        }

        if (p == typeof(uint))
        {
            return v is >= 0 and <= uint.MaxValue ? (uint)v : null;
        }

        if (p == typeof(ulong))
        {
            return unchecked((ulong)v);
        }

        if (p == typeof(sbyte))
        {
            return v is >= sbyte.MinValue and <= sbyte.MaxValue ? (sbyte)v : null;
        }

        if (p == typeof(byte))
        {
            return v is >= 0 and <= byte.MaxValue ? (byte)v : null;
        }

        if (p == typeof(short))
        {
            return v is >= short.MinValue and <= short.MaxValue ? (short)v : null;
        }

        return p == typeof(ushort) && v is >= 0 and <= ushort.MaxValue ? (ushort)v : null;
    }
#pragma warning restore CA1859

    private static IEnumerable<string> SplitOperands(string text)
    {
        var sb = new StringBuilder();
        int depth = 0;
        bool quoted = false;
        foreach (char c in text)
        {
            if (c is '"' or '\'')
            {
                quoted = !quoted;
            }
            else if (!quoted && c == '[')
            {
                depth++;
            }
            else if (!quoted && c == ']')
            {
                depth--;
            }

            if (c == ',' && depth == 0 && !quoted)
            {
                yield return sb.ToString();
                sb.Clear();
                continue;
            }

            sb.Append(c);
        }

        if (sb.ToString().Trim().Length > 0)
        {
            yield return sb.ToString();
        }
    }
}
