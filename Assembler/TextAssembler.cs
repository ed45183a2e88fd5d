// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics.CodeAnalysis;
using System.Text;
using HyperDbgRemote.Asm.Internal;

namespace HyperDbgRemote.Asm;

/// <summary>
/// An Intel-syntax x86 text assembler over Iced's fluent <see cref="Iced.Intel.Assembler"/>. Statements are separated
/// by newlines or ';' (not inside quotes), so HyperDbg's one-line blocks (<c>mov rax, 1; add rax, rbx; ret</c>) work;
/// '#' and '//' start a comment. Supported: labels (<c>name:</c>, also before an instruction on the same statement),
/// <c>NAME equ EXPR</c>, <c>db/dw/dd/dq</c> with numbers, expressions and strings, <c>align N</c>, the prefixes
/// rep/repe/repz/repne/repnz/lock, size keywords (<c>byte/word/dword/qword [ptr]</c>), segment overrides, memory
/// operands <c>[base + index*scale + disp]</c>, and rip-relative operands <c>[rip + label]</c>, <c>[rel label]</c> or
/// <c>[rip + N]</c> (N bytes after the next instruction). A mnemonic maps to Iced's fluent method of the same name and
/// the operands choose its overload. Labels resolve by assembling until every address settles.
/// </summary>
public static partial class TextAssembler
{
    private const int MaxPasses = 16;

    /// <summary>Assembles <paramref name="source"/> as <paramref name="bitness"/>-bit code starting at <paramref name="address"/>.</summary>
    /// <param name="source">The statements.</param>
    /// <param name="address">The address of the first byte (labels, <c>$</c> and branches are relative to it).</param>
    /// <param name="bitness">16, 32 or 64.</param>
    /// <exception cref="AssemblyException">
    /// A statement is wrong (unknown mnemonic, bad operands, undefined or duplicate label, value out of range, ...); the
    /// message names its line, number and text and the problem. No other exception comes from the text.
    /// </exception>
    public static AssemblyResult Assemble(string source, ulong address, int bitness = 64)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (bitness is not (16 or 32 or 64))
        {
            throw new ArgumentOutOfRangeException(nameof(bitness), bitness, "The bitness must be 16, 32 or 64.");
        }

        List<Statement> statements = Parse(source);
        var constants = new Dictionary<string, long>(StringComparer.Ordinal);
        var addresses = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (Statement s in statements)
        {
            if (s.Label is string label && !addresses.TryAdd(label, address))
            {
                throw new AssemblyException($"{s.Describe()}: label '{label}' is defined twice");
            }
        }

        for (int pass = 0; pass < MaxPasses; pass++)
        {
            Pass result = AssembleOnce(statements, address, bitness, constants, addresses);
            bool stable = result.Labels.All(kv => addresses[kv.Key] == kv.Value);
            addresses = result.Labels;
            if (stable)
            {
                return new AssemblyResult(result.Bytes, addresses, result.LastInstructionOffset);
            }
        }

        throw new AssemblyException($"label addresses did not settle after {MaxPasses} passes");
    }

    /// <summary>Like <see cref="Assemble"/>, with the problem as a value.</summary>
    public static bool TryAssemble(
        string source, ulong address, int bitness, [NotNullWhen(true)] out AssemblyResult? result, [NotNullWhen(false)] out string? error)
    {
        try
        {
            result = Assemble(source, address, bitness);
            error = null;
            return true;
        }
        catch (AssemblyException ex)
        {
            result = null;
            error = ex.Message;
            return false;
        }
    }

    private static List<Statement> Parse(string source)
    {
        var result = new List<Statement>();
        int number = 0;
        foreach ((int line, string part) in SplitStatements(source))
        {
            string text = part.Trim();
            if (text.Length == 0)
            {
                continue;
            }

            number++;
            string rest = text;
            while (rest.Length > 0)
            {
                int colon = LabelColon(rest);
                if (colon > 0)
                {
                    result.Add(new Statement(line, number, text, rest[..colon].Trim(), null, string.Empty, string.Empty));
                    rest = rest[(colon + 1)..].Trim();
                    continue;
                }

                int space = rest.IndexOfAny([' ', '\t']);
                string head = space < 0 ? rest : rest[..space];
                string operands = space < 0 ? string.Empty : rest[(space + 1)..].Trim();
                result.Add(new Statement(line, number, text, null, head.ToLowerInvariant(), head, operands));
                break;
            }
        }

        return result;
    }

    /// <summary>The colon ending a label at the start of <paramref name="text"/>, or -1.</summary>
    private static int LabelColon(string text)
    {
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return -1;
        }

        string name = text[..colon].TrimEnd();
        return name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '@') && !char.IsAsciiDigit(name[0])
            && !IsRegister(name) ? colon : -1;
    }

    /// <summary>Splits the source at newlines and ';' outside quotes and drops '#' and '//' comments.</summary>
    private static IEnumerable<(int Line, string Text)> SplitStatements(string source)
    {
        var sb = new StringBuilder();
        int line = 1;
        char quote = '\0';
        bool comment = false;
        for (int i = 0; i < source.Length; i++)
        {
            char c = source[i];
            if (c is '\n' or '\r')
            {
                yield return (line, sb.ToString());
                sb.Clear();
                quote = '\0';
                comment = false;
                if (c == '\n' || i + 1 >= source.Length || source[i + 1] != '\n')
                {
                    line++;
                }

                continue;
            }

            if (comment)
            {
                continue;
            }

            if (quote != '\0')
            {
                if (c == '\\' && i + 1 < source.Length && source[i + 1] is not ('\n' or '\r'))
                {
                    sb.Append(c).Append(source[++i]);
                    continue;
                }

                quote = c == quote ? '\0' : quote;
            }
            else if (c is '"' or '\'')
            {
                quote = c;
            }
            else if (c == '#' || (c == '/' && i + 1 < source.Length && source[i + 1] == '/'))
            {
                comment = true;
                continue;
            }
            else if (c == ';')
            {
                yield return (line, sb.ToString());
                sb.Clear();
                continue;
            }

            sb.Append(c);
        }

        yield return (line, sb.ToString());
    }
}
