// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

internal enum PrintfConversion : byte
{
    /// <summary>Literal text only (the tail after the last specifier).</summary>
    None,
    Signed,
    Unsigned,
    Octal,
    HexLower,
    HexUpper,
    Char,
    Pointer,
    String,
    WideString,
    Float,
}

[Flags]
internal enum PrintfFlags : byte
{
    None = 0,
    LeftAlign = 1,
    Plus = 2,
    Space = 4,
    Alternate = 8,
    ZeroPad = 16,
}

/// <summary>Literal text followed by at most one conversion.</summary>
internal readonly record struct PrintfPiece(
    int LiteralStart, int LiteralLength, PrintfConversion Conversion, PrintfFlags Flags, int Width, int Precision, int Bits);

/// <summary>
/// A <c>printf</c> format checked at compile time (spec 6.9): HyperDbg's specifiers <c>%d %i %u %o %x %c %p %s %f</c>,
/// <c>%ls %ws</c>, the <c>h</c>/<c>l</c>/<c>ll</c> lengths, plus our improvements: flags <c>- + space # 0</c>, width,
/// precision, <c>%X</c> and <c>%%</c>. Without a length, integers are 32-bit like MSVC's printf (<c>l</c> = 32,
/// <c>h</c> = 16, <c>ll</c> = 64).
/// </summary>
internal sealed class PrintfFormat
{
    public const int NoValue = -1;
    private const int IntBits = 32;
    private const int ShortBits = 16;
    private const int LongLongBits = 64;
    private const int MaxWidth = 4096;

    private PrintfFormat(string text, PrintfPiece[] pieces, int argumentCount)
    {
        Text = text;
        Pieces = pieces;
        ArgumentCount = argumentCount;
    }

    public string Text { get; }

    public PrintfPiece[] Pieces { get; }

    public int ArgumentCount { get; }

    /// <summary>Parses <paramref name="text"/>; on error returns null with the cause and the offset inside the text.</summary>
    public static PrintfFormat? TryParse(string text, out string? error, out int errorIndex)
    {
        var pieces = new List<PrintfPiece>();
        int literalStart = 0;
        int i = 0;
        int count = 0;
        error = null;
        errorIndex = 0;
        while (i < text.Length)
        {
            if (text[i] != '%')
            {
                i++;
                continue;
            }

            int percent = i;
            if (i + 1 < text.Length && text[i + 1] == '%')
            {
                // '%%' prints one '%': the literal runs up to and including the first '%'.
                pieces.Add(new PrintfPiece(literalStart, percent + 1 - literalStart, PrintfConversion.None, PrintfFlags.None, NoValue, NoValue, 0));
                i += 2;
                literalStart = i;
                continue;
            }

            i++;
            PrintfFlags flags = PrintfFlags.None;
            while (i < text.Length && text[i] is '-' or '+' or ' ' or '#' or '0')
            {
                flags |= text[i] switch
                {
                    '-' => PrintfFlags.LeftAlign,
                    '+' => PrintfFlags.Plus,
                    ' ' => PrintfFlags.Space,
                    '#' => PrintfFlags.Alternate,
                    _ => PrintfFlags.ZeroPad,
                };
                i++;
            }

            int width = ReadNumber(text, ref i);
            int precision = NoValue;
            if (i < text.Length && text[i] == '.')
            {
                i++;
                precision = Math.Max(0, ReadNumber(text, ref i));
            }

            if (width > MaxWidth || precision > MaxWidth)
            {
                error = $"printf: width or precision above {MaxWidth} in '{text[percent..Math.Min(i, text.Length)]}'";
                errorIndex = percent;
                return null;
            }

            int bits = IntBits;
            bool wide = false;
            if (i + 1 < text.Length && text[i] == 'l' && text[i + 1] == 'l')
            {
                bits = LongLongBits;
                i += 2;
            }
            else if (i < text.Length && text[i] == 'l')
            {
                wide = true;
                i++;
            }
            else if (i < text.Length && text[i] == 'h')
            {
                bits = ShortBits;
                i++;
            }
            else if (i < text.Length && text[i] == 'w')
            {
                wide = true;
                i++;
            }

            char conversion = i < text.Length ? text[i] : '\0';
            PrintfConversion kind = conversion switch
            {
                'd' or 'i' => PrintfConversion.Signed,
                'u' => PrintfConversion.Unsigned,
                'o' => PrintfConversion.Octal,
                'x' => PrintfConversion.HexLower,
                'X' => PrintfConversion.HexUpper,
                'c' => PrintfConversion.Char,
                'p' => PrintfConversion.Pointer,
                's' => wide ? PrintfConversion.WideString : PrintfConversion.String,
                'f' => PrintfConversion.Float,
                _ => PrintfConversion.None,
            };

            bool lengthFits = kind switch
            {
                PrintfConversion.None => false,
                PrintfConversion.String or PrintfConversion.Char or PrintfConversion.Pointer => bits == IntBits && !wide,
                PrintfConversion.WideString => true,
                PrintfConversion.Float => bits == IntBits,
                _ => text[i - 1] != 'w',
            };
            if (!lengthFits)
            {
                error = $"printf: unknown format specifier '{text[percent..Math.Min(i + 1, text.Length)]}'";
                errorIndex = percent;
                return null;
            }

            i++;
            pieces.Add(new PrintfPiece(literalStart, percent - literalStart, kind, flags, width, precision, kind == PrintfConversion.Pointer ? LongLongBits : bits));
            count++;
            literalStart = i;
        }

        if (literalStart < text.Length)
        {
            pieces.Add(new PrintfPiece(literalStart, text.Length - literalStart, PrintfConversion.None, PrintfFlags.None, NoValue, NoValue, 0));
        }

        return new PrintfFormat(text, [.. pieces], count);
    }

    private static int ReadNumber(string text, ref int i)
    {
        int value = NoValue;
        while (i < text.Length && char.IsAsciiDigit(text[i]))
        {
            value = (Math.Max(value, 0) * 10) + (text[i] - '0');
            if (value > MaxWidth)
            {
                value = MaxWidth + 1;
            }

            i++;
        }

        return value;
    }
}
