// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;

namespace HyperDbgRemote.Script.Internal;

internal sealed partial class Interpreter
{
    private const int DefaultFloatPrecision = 6;
    private const int MaxDigits = 64;
    private const int MaxFloatPrecision = 99;
    private const char NonAsciiReplacement = '?';
    private const int AsciiLimit = 0x80;
    private const int ShortBits = 16;
    private const int IntBits = 32;
    private const int LongLongBits = 64;
    private const int OctalRadix = 8;
    private const int DecimalRadix = 10;
    private const int HexRadix = 16;

    /// <summary>Formats one printf message into the run's buffer and sends it as one <see cref="IScriptTarget.Output"/>
    /// call (spec 6.9). A message longer than the buffer is a runtime error.</summary>
    private bool TryPrintf(PrintfFormat format, ReadOnlySpan<ulong> args)
    {
        Span<char> buffer = _state.Text;
        int length = 0;
        int argument = 0;
        foreach (PrintfPiece piece in format.Pieces)
        {
            if (!Append(ref length, format.Text.AsSpan(piece.LiteralStart, piece.LiteralLength)))
            {
                return PrintfTooLong();
            }

            if (piece.Conversion == PrintfConversion.None)
            {
                continue;
            }

            if (!AppendConversion(piece, args[argument++], ref length, out bool tooLong))
            {
                return tooLong ? PrintfTooLong() : false;
            }
        }

        _target.Output(buffer[..length]);
        return true;
    }

    private bool PrintfTooLong() => Error(BuiltinId.Printf, $"the message is longer than {ScriptLimits.PrintfBufferLength} characters");

    private bool Append(ref int length, ReadOnlySpan<char> text)
    {
        if (text.Length > _state.Text.Length - length)
        {
            return false;
        }

        text.CopyTo(_state.Text.AsSpan(length));
        length += text.Length;
        return true;
    }

    private bool AppendConversion(PrintfPiece piece, ulong value, ref int length, out bool tooLong)
    {
        tooLong = false;
        Span<char> digits = stackalloc char[MaxDigits + 2];
        string prefix = string.Empty;
        int count;
        switch (piece.Conversion)
        {
            case PrintfConversion.String or PrintfConversion.WideString:
                return AppendString(piece, value, ref length, out tooLong);
            case PrintfConversion.Char:
                digits[0] = (char)(byte)value;
                count = 1;
                break;
            case PrintfConversion.Float:
                count = FormatFloat(piece, BitConverter.UInt64BitsToDouble(value), digits);
                break;
            case PrintfConversion.Pointer:
                // MSVC prints %p as 16 upper-case hex digits ("X16").
                value.TryFormat(digits, out count, "X16", CultureInfo.InvariantCulture);
                break;
            default:
                count = FormatInteger(piece, value, digits, out prefix);
                break;
        }

        int width = Math.Max(piece.Width, 0);
        int pad = Math.Max(0, width - count - prefix.Length);
        bool left = (piece.Flags & PrintfFlags.LeftAlign) != 0;
        bool zero = (piece.Flags & PrintfFlags.ZeroPad) != 0 && !left && piece.Precision < 0
            && piece.Conversion is not (PrintfConversion.Char or PrintfConversion.Pointer);
        if (pad + prefix.Length + count > _state.Text.Length - length)
        {
            tooLong = true;
            return false;
        }

        Span<char> output = _state.Text.AsSpan(length);
        int at = 0;
        if (!left && !zero)
        {
            output.Slice(at, pad).Fill(' ');
            at += pad;
        }

        prefix.AsSpan().CopyTo(output[at..]);
        at += prefix.Length;
        if (zero)
        {
            output.Slice(at, pad).Fill('0');
            at += pad;
        }

        digits[..count].CopyTo(output[at..]);
        at += count;
        if (left)
        {
            output.Slice(at, pad).Fill(' ');
            at += pad;
        }

        length += at;
        return true;
    }

    /// <summary>Integer conversions: the value is cut to the length modifier's width (none = 32 bits, like MSVC),
    /// then printed with precision (minimum digits), sign flags and '#' prefixes.</summary>
    private static int FormatInteger(PrintfPiece piece, ulong value, Span<char> output, out string prefix)
    {
        ulong mask = piece.Bits >= LongLongBits ? ulong.MaxValue : (1UL << piece.Bits) - 1;
        ulong magnitude = value & mask;
        prefix = string.Empty;
        if (piece.Conversion == PrintfConversion.Signed)
        {
            long signedValue = piece.Bits switch
            {
                ShortBits => (short)magnitude,
                IntBits => (int)magnitude,
                _ => (long)magnitude,
            };
            if (signedValue < 0)
            {
                magnitude = unchecked(0 - (ulong)signedValue);
                prefix = "-";
            }
            else if ((piece.Flags & PrintfFlags.Plus) != 0)
            {
                prefix = "+";
            }
            else if ((piece.Flags & PrintfFlags.Space) != 0)
            {
                prefix = " ";
            }
        }

        int radix = piece.Conversion switch
        {
            PrintfConversion.Octal => OctalRadix,
            PrintfConversion.HexLower or PrintfConversion.HexUpper => HexRadix,
            _ => DecimalRadix,
        };
        string alphabet = piece.Conversion == PrintfConversion.HexUpper ? "0123456789ABCDEF" : "0123456789abcdef";
        Span<char> reversed = stackalloc char[MaxDigits];
        int n = 0;
        for (ulong rest = magnitude; rest != 0; rest /= (ulong)radix)
        {
            reversed[n++] = alphabet[(int)(rest % (ulong)radix)];
        }

        int minimum = piece.Precision < 0 ? 1 : Math.Min(piece.Precision, MaxDigits);
        if ((piece.Flags & PrintfFlags.Alternate) != 0 && magnitude != 0)
        {
            if (radix == HexRadix)
            {
                prefix = piece.Conversion == PrintfConversion.HexUpper ? "0X" : "0x";
            }
            else if (radix == OctalRadix)
            {
                minimum = Math.Max(minimum, n + 1);
            }
        }

        int count = Math.Max(n, minimum);
        for (int i = 0; i < count; i++)
        {
            output[i] = i < count - n ? '0' : reversed[count - 1 - i];
        }

        return count;
    }

    private static int FormatFloat(PrintfPiece piece, double value, Span<char> output)
    {
        int precision = piece.Precision < 0 ? DefaultFloatPrecision : Math.Min(piece.Precision, MaxFloatPrecision);
        Span<char> format = stackalloc char[3];
        format[0] = 'F';
        int formatLength = 1;
        if (precision >= DecimalRadix)
        {
            format[formatLength++] = (char)('0' + (precision / DecimalRadix));
        }

        format[formatLength++] = (char)('0' + (precision % DecimalRadix));
        int at = 0;
        if (value >= 0 && (piece.Flags & PrintfFlags.Plus) != 0)
        {
            output[at++] = '+';
        }

        if (!value.TryFormat(output[at..], out int written, format[..formatLength], CultureInfo.InvariantCulture))
        {
            "?".CopyTo(output[at..]);
            written = 1;
        }

        return at + written;
    }

    /// <summary>%s (ANSI bytes) and %ls/%ws (UTF-16; non-ASCII code units print as '?', spec 6.9). An unreadable
    /// address is a runtime error; precision limits the characters printed.</summary>
    private bool AppendString(PrintfPiece piece, ulong address, ref int length, out bool tooLong)
    {
        tooLong = false;
        bool wide = piece.Conversion == PrintfConversion.WideString;
        int unit = wide ? sizeof(char) : sizeof(byte);
        int room = _state.Text.Length - length;
        if (!TryMeasure(address, unit, room + 1, out int units))
        {
            if (units <= room)
            {
                return Error(BuiltinId.Printf, $"cannot read the string for '%{(wide ? "ws" : "s")}' at 0x{address:x}");
            }
        }

        int shown = piece.Precision >= 0 ? Math.Min(units, piece.Precision) : units;
        int pad = Math.Max(0, piece.Width - shown);
        if (shown + pad > room)
        {
            tooLong = true;
            return false;
        }

        bool left = (piece.Flags & PrintfFlags.LeftAlign) != 0;
        Span<char> output = _state.Text.AsSpan(length, shown + pad);
        int at = left ? 0 : pad;
        output[..pad].Fill(' ');
        output[^pad..].Fill(' ');
        Span<byte> one = stackalloc byte[sizeof(char)];
        for (int i = 0; i < shown; i++)
        {
            TryReadVirtual(address + (ulong)(i * unit), one[..unit]);
            int code = wide ? BitConverter.ToUInt16(one) : one[0];
            output[at + i] = wide && code >= AsciiLimit ? NonAsciiReplacement : (char)code;
        }

        length += shown + pad;
        return true;
    }
}
