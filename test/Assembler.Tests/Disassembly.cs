// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;
using System.Text.RegularExpressions;
using Iced.Intel;

namespace HyperDbgRemote.Asm.Tests;

/// <summary>Iced's decoder and Intel formatter, and a normaliser that makes our source and Iced's text comparable.</summary>
internal static partial class Disassembly
{
    /// <summary>Every instruction in <paramref name="bytes"/> formatted by Iced, one per element.</summary>
    public static List<string> Format(byte[] bytes, ulong address, int bitness = 64)
    {
        var formatter = new IntelFormatter();
        formatter.Options.MemorySizeOptions = MemorySizeOptions.Always;
        formatter.Options.RipRelativeAddresses = true;
        formatter.Options.ShowBranchSize = false;
        formatter.Options.HexPrefix = "0x";
        formatter.Options.HexSuffix = null;
        var decoder = Decoder.Create(bitness, new ByteArrayCodeReader(bytes), address);
        var lines = new List<string>();
        while (decoder.IP < address + (ulong)bytes.Length)
        {
            decoder.Decode(out Instruction instruction);
            var output = new StringOutput();
            formatter.Format(instruction, output);
            lines.Add(instruction.IsInvalid ? "(bad)" : output.ToStringAndReset());
        }

        return lines;
    }

    /// <summary>
    /// Lower case, one space between words and none around punctuation, no <c>ptr</c>, every number in decimal (0x10,
    /// 10h and 16 all become 16; an immediate -N becomes its 64-bit two's complement, as Iced prints sign-extended
    /// immediates), no implicit operands after string instructions (Iced writes <c>movsb byte ptr [rdi],byte ptr [rsi]</c>);
    /// size keywords are dropped when <paramref name="keepSizes"/> is false (the source left the size to the register operand).
    /// </summary>
    public static string Normalize(string text, bool keepSizes = true)
    {
        string t = text.ToLowerInvariant();
        t = PtrRegex().Replace(t, " ");
        if (!keepSizes)
        {
            t = SizeRegex().Replace(t, " ");
        }

        t = StringOperandsRegex().Replace(t, "$1");
        t = NegativeImmediateRegex().Replace(t, m => unchecked(0UL - Number(m.Groups[1].Value)).ToString(CultureInfo.InvariantCulture));
        t = NumberRegex().Replace(t, m => Number(m.Value).ToString(CultureInfo.InvariantCulture));
        t = SpaceRegex().Replace(t.Trim(), " ");
        return PunctuationRegex().Replace(t, "$1");
    }

    /// <summary>Whether <paramref name="text"/> names a memory size.</summary>
    public static bool HasSize(string text) => SizeRegex().IsMatch(text.ToLowerInvariant());

    private static ulong Number(string token) =>
        token.StartsWith("0x", StringComparison.Ordinal) ? ulong.Parse(token[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture)
        : token.EndsWith('h') ? ulong.Parse(token[..^1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture)
        : ulong.Parse(token, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"\bptr\b")]
    private static partial Regex PtrRegex();

    [GeneratedRegex(@"\b(byte|word|dword|qword)\b")]
    private static partial Regex SizeRegex();

    [GeneratedRegex(@"\b(0x[0-9a-f]+|[0-9][0-9a-f]*h|[0-9]+)\b")]
    private static partial Regex NumberRegex();

    [GeneratedRegex(@"^((?:rep[a-z]*\s+)?(?:movs|cmps|stos|lods|scas|ins|outs)[bwdq])\s.*$")]
    private static partial Regex StringOperandsRegex();

    [GeneratedRegex(@"(?<=,\s*)-\s*(0x[0-9a-f]+|[0-9][0-9a-f]*h|[0-9]+)\b")]
    private static partial Regex NegativeImmediateRegex();

    [GeneratedRegex(@"\s+")]
    private static partial Regex SpaceRegex();

    [GeneratedRegex(@"\s*([,+\-*\[\]:])\s*")]
    private static partial Regex PunctuationRegex();
}
