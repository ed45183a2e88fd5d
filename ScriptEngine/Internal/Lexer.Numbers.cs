// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;

namespace HyperDbgRemote.Script.Internal;

internal sealed partial class Lexer
{
    private const int HexBase = 16;
    private const int DecimalBase = 10;
    private const int OctalBase = 8;
    private const int BinaryBase = 2;
    private const int PrefixLength = 2;

    /// <summary>Numbers (spec 6.1): hex by default, <c>0x</c> hex, <c>0n</c> decimal, <c>0o</c> octal, <c>0y</c> binary,
    /// backticks (and underscores) ignored; a float when the digits before <c>.</c> are decimal (<c>1.5</c>, <c>.5</c>).</summary>
    private void LexNumber()
    {
        int start = _pos;
        int end = start;
        while (end < _source.Length && (IsWordChar(_source[end]) || _source[end] == '`'))
        {
            end++;
        }

        bool decimalDigits = end > start && !_source.AsSpan(start, end - start).ContainsAnyExceptInRange('0', '9');
        if (end < _source.Length && _source[end] == '.' && (decimalDigits || end == start)
            && end + 1 < _source.Length && char.IsAsciiDigit(_source[end + 1]))
        {
            LexFloat(start, end + 1);
            return;
        }

        _pos = end;
        string text = _source[start..end];
        int numberBase = HexBase;
        int digitsStart = 0;
        if (text.Length > PrefixLength && text[0] == '0' && char.IsAsciiLetter(text[1]) && !char.IsAsciiHexDigit(text[1]))
        {
            numberBase = text[1] switch
            {
                'x' => HexBase,
                'n' => DecimalBase,
                'o' => OctalBase,
                'y' => BinaryBase,
                _ => throw CompileError.At(_source, start, $"syntax error (unknown token): '{text}' has an unknown number prefix '0{text[1]}' (use 0x, 0n, 0o or 0y)"),
            };
            digitsStart = PrefixLength;
        }

        ulong value = ParseDigits(text, digitsStart, text.Length, numberBase, start);
        _tokens.Add(new Token(TokenKind.Number, start, end - start, text) { Value = value });
    }

    private ulong ParseDigits(string text, int from, int to, int numberBase, int offset)
    {
        ulong value = 0;
        bool any = false;
        for (int i = from; i < to; i++)
        {
            char c = text[i];
            if (c is '`' or '_')
            {
                continue;
            }

            int digit = char.IsAsciiDigit(c) ? c - '0' : char.IsAsciiLetter(c) ? (char.ToLowerInvariant(c) - 'a') + DecimalBase : int.MaxValue;
            if (digit >= numberBase)
            {
                throw CompileError.At(_source, offset, $"syntax error (unknown token): '{c}' is not a base-{numberBase} digit in '{text}'");
            }

            ulong next = unchecked((value * (ulong)numberBase) + (ulong)digit);
            if (value > (ulong.MaxValue - (ulong)digit) / (ulong)numberBase)
            {
                throw CompileError.At(_source, offset, $"syntax error: number '{text}' does not fit in 64 bits");
            }

            value = next;
            any = true;
        }

        if (!any)
        {
            throw CompileError.At(_source, offset, $"syntax error (unknown token): '{text}' has no digits");
        }

        return value;
    }

    private void LexFloat(int start, int fractionStart)
    {
        int end = fractionStart;
        while (end < _source.Length && char.IsAsciiDigit(_source[end]))
        {
            end++;
        }

        if (end < _source.Length && IsWordChar(_source[end]))
        {
            throw CompileError.At(_source, start, $"syntax error (unknown token): malformed float '{_source[start..ScanWord(end)]}'");
        }

        _pos = end;
        string text = _source[start..end];
        double value = double.Parse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
        _tokens.Add(new Token(TokenKind.Float, start, end - start, text) { Value = BitConverter.DoubleToUInt64Bits(value) });
    }
}
