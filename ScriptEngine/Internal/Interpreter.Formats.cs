// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

internal sealed partial class Interpreter
{
    private const int BitsPerByte = 8;
    private const byte FirstPrintable = 0x20;
    private const byte LastPrintable = 0x7E;

    /// <summary>
    /// <c>formats(x)</c>: the lines of HyperDbg's <c>.formats</c> (CommandFormatsShowResults) that depend only on the
    /// value — hex as <c>00000000`00000010</c>, decimal (signed 64-bit), octal (64-bit), binary from the highest byte
    /// (each byte followed by a space) and the bytes as characters from the lowest (<c>.</c> when not printable).
    /// Built in the run's text buffer, so it does not allocate. docs/differences.md lists what is left out.
    /// </summary>
    private ReadOnlySpan<char> FormatValue(ulong value)
    {
        Span<char> text = _state.Text;
        int n = 0;
        AppendText(text, ref n, "evaluate expression:\nHex :        ");
        (value >> 32).TryFormat(text[n..], out int written, "x8");
        n += written;
        text[n++] = '`';
        ((uint)value).TryFormat(text[n..], out written, "x8");
        n += written;
        AppendText(text, ref n, "\nDecimal :    ");
        ((long)value).TryFormat(text[n..], out written, provider: System.Globalization.CultureInfo.InvariantCulture);
        n += written;
        AppendText(text, ref n, "\nOctal :      ");
        n += FormatOctal(value, text[n..]);
        AppendText(text, ref n, "\nBinary :     ");
        for (int b = sizeof(ulong) - 1; b >= 0; b--)
        {
            for (int bit = BitsPerByte - 1; bit >= 0; bit--)
            {
                text[n++] = ((value >> ((b * BitsPerByte) + bit)) & 1) != 0 ? '1' : '0';
            }

            text[n++] = ' ';
        }

        AppendText(text, ref n, "\nChar :       ");
        for (int b = 0; b < sizeof(ulong); b++)
        {
            byte c = (byte)(value >> (b * BitsPerByte));
            text[n++] = c is >= FirstPrintable and <= LastPrintable ? (char)c : '.';
        }

        text[n++] = '\n';
        return text[..n];
    }

    private static void AppendText(Span<char> text, ref int n, string part)
    {
        part.CopyTo(text[n..]);
        n += part.Length;
    }

    private static int FormatOctal(ulong value, Span<char> destination)
    {
        Span<char> digits = stackalloc char[22];
        int count = 0;
        do
        {
            digits[count++] = (char)('0' + (int)(value & 7));
            value >>= 3;
        }
        while (value != 0);

        for (int i = 0; i < count; i++)
        {
            destination[i] = digits[count - 1 - i];
        }

        return count;
    }
}
