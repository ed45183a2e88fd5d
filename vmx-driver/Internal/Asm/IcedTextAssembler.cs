// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;
using System.Reflection;
using System.Text;
using Iced.Intel;

namespace HyperDbgRemote.VmxDriver.Internal.Asm;

/// <summary>
/// A text front end over Iced's fluent <see cref="Assembler"/>: Intel-syntax statements (newlines or ';'
/// separate them, '#' starts a comment), labels, <c>NAME equ EXPR</c>, <c>db/dw/dd/dq</c> with numbers, expressions
/// and strings, <c>align N</c>, and the prefixes rep/repe/repne/lock. A mnemonic maps to the fluent method of the
/// same name and the operands choose its overload, so every instruction Iced's fluent API offers is available without
/// tables of our own. Label values in expressions resolve by assembling until the addresses settle.
/// </summary>
internal static partial class IcedTextAssembler
{
    private const int MaxPasses = 8;
    private static readonly Dictionary<string, object> s_registers = typeof(AssemblerRegisters).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.FieldType.Name.StartsWith("AssemblerRegister", StringComparison.Ordinal))
        .ToDictionary(f => f.Name, f => f.GetValue(null)!, StringComparer.OrdinalIgnoreCase);

    private static readonly ILookup<string, MethodInfo> s_methods = typeof(Assembler).GetMethods(BindingFlags.Public | BindingFlags.Instance)
        .ToLookup(m => m.Name, StringComparer.OrdinalIgnoreCase);

    /// <summary>Assembles <paramref name="source"/> at <paramref name="origin"/>.</summary>
    /// <exception cref="AssemblyException">A statement is wrong; the message names its line, text and the problem.</exception>
    public static (byte[] Bytes, IReadOnlyDictionary<string, ulong> Labels) Assemble(string source, ulong origin, int bitness = 64)
    {
        List<Statement> statements = Parse(source);
        var constants = new Dictionary<string, long>(StringComparer.Ordinal);
        Dictionary<string, ulong> addresses = new(StringComparer.Ordinal);
        foreach (Statement s in statements.Where(s => s.Label is not null))
        {
            addresses[s.Label!] = origin;
        }

        byte[] bytes = [];
        for (int pass = 0; pass < MaxPasses; pass++)
        {
            (byte[] b, Dictionary<string, ulong> next) = AssembleOnce(statements, origin, bitness, constants, addresses);
            bytes = b;
            bool stable = next.Count == addresses.Count && next.All(kv => addresses.TryGetValue(kv.Key, out ulong v) && v == kv.Value);
            addresses = next;
            if (stable)
            {
                return (bytes, addresses);
            }
        }

        throw new AssemblyException($"label addresses did not settle after {MaxPasses} passes.");
    }

    private sealed record Statement(int Line, string Text, string? Label, string? Mnemonic, string Operands, string Head = "");

    private static List<Statement> Parse(string source)
    {
        var result = new List<Statement>();
        string[] lines = source.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (int n = 0; n < lines.Length; n++)
        {
            foreach (string part in SplitStatements(StripComment(lines[n])))
            {
                string text = part.Trim();
                while (text.Length > 0)
                {
                    int colon = LabelColon(text);
                    if (colon > 0)
                    {
                        result.Add(new Statement(n + 1, text, text[..colon].Trim(), null, string.Empty));
                        text = text[(colon + 1)..].Trim();
                        continue;
                    }

                    int space = text.IndexOfAny([' ', '\t']);
                    string head = space < 0 ? text : text[..space];
                    string rest = space < 0 ? string.Empty : text[(space + 1)..].Trim();
                    result.Add(new Statement(n + 1, text, null, head.ToLowerInvariant(), rest, head));
                    break;
                }
            }
        }

        return result;
    }

    private static int LabelColon(string text)
    {
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return -1;
        }

        string name = text[..colon];
        return name.All(c => char.IsLetterOrDigit(c) || c is '_' or '.' or '@') && !char.IsDigit(name[0]) && !s_registers.ContainsKey(name) ? colon : -1;
    }

    private static string StripComment(string line)
    {
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            if (line[i] is '"' or '\'' && (i == 0 || line[i - 1] != '\\'))
            {
                quoted = !quoted;
            }
            else if (!quoted && (line[i] == '#' || (line[i] == '/' && i + 1 < line.Length && line[i + 1] == '/')))
            {
                return line[..i];
            }
        }

        return line;
    }

    private static IEnumerable<string> SplitStatements(string line)
    {
        var sb = new StringBuilder();
        bool quoted = false;
        foreach (char c in line)
        {
            if (c is '"' or '\'')
            {
                quoted = !quoted;
            }

            if (c == ';' && !quoted)
            {
                yield return sb.ToString();
                sb.Clear();
                continue;
            }

            sb.Append(c);
        }

        yield return sb.ToString();
    }
}
