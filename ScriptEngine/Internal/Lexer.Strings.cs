// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;

namespace HyperDbgRemote.Script.Internal;

internal sealed partial class Lexer
{
    private const int NarrowHexEscapeDigits = 2;
    private const int WideHexEscapeDigits = 4;

    /// <summary>Strings (spec 6.1): <c>"..."</c> (UTF-8 bytes) and <c>L"..."</c> (UTF-16LE); escapes <c>\n \t \r \0 \\ \"</c>
    /// and <c>\xH..</c> with up to 2 (narrow) or 4 (wide) hex digits. Anything else after a backslash is an error.</summary>
    private void LexString(bool wide)
    {
        int start = wide ? _pos - 1 : _pos;
        int i = _pos + 1;
        var text = new StringBuilder();
        while (true)
        {
            if (i >= _source.Length || _source[i] == '\n')
            {
                throw CompileError.At(_source, start, "syntax error (unknown token): unterminated string (missing '\"')");
            }

            char c = _source[i];
            if (c == '"')
            {
                i++;
                break;
            }

            if (c != '\\')
            {
                text.Append(c);
                i++;
                continue;
            }

            if (i + 1 >= _source.Length)
            {
                throw CompileError.At(_source, i, "syntax error (unknown token): unterminated string (missing '\"')");
            }

            char e = _source[i + 1];
            i += 2;
            switch (e)
            {
                case 'n':
                    text.Append('\n');
                    break;
                case 't':
                    text.Append('\t');
                    break;
                case 'r':
                    text.Append('\r');
                    break;
                case '0':
                    text.Append('\0');
                    break;
                case '\\':
                    text.Append('\\');
                    break;
                case '"':
                    text.Append('"');
                    break;
                case 'x':
                    i = LexHexEscape(i, wide, text);
                    break;
                default:
                    throw CompileError.At(_source, i - 2, $"syntax error (unknown token): unknown escape '\\{e}' in a string");
            }
        }

        _pos = i;
        string value = text.ToString();
        byte[] encoded = wide ? Encoding.Unicode.GetBytes(value) : EncodeNarrow(value);
        _tokens.Add(new Token(wide ? TokenKind.WideString : TokenKind.String, start, i - start, value) { Bytes = encoded });
    }

    private int LexHexEscape(int i, bool wide, StringBuilder text)
    {
        int maxDigits = wide ? WideHexEscapeDigits : NarrowHexEscapeDigits;
        int digits = 0;
        int value = 0;
        while (i < _source.Length && char.IsAsciiHexDigit(_source[i]))
        {
            if (digits == maxDigits)
            {
                throw CompileError.At(_source, i, $"syntax error (unknown token): '\\x' takes at most {maxDigits} hex digits here");
            }

            value = (value * HexBase) + Convert.ToInt32(_source[i].ToString(), HexBase);
            digits++;
            i++;
        }

        if (digits == 0)
        {
            throw CompileError.At(_source, i - 2, "syntax error (unknown token): '\\x' needs at least one hex digit");
        }

        text.Append((char)value);
        return i;
    }

    /// <summary>Narrow strings keep characters below 0x100 as single bytes (so <c>\xFF</c> is one byte) and encode
    /// anything else as UTF-8.</summary>
    private static byte[] EncodeNarrow(string value)
    {
        var bytes = new List<byte>(value.Length);
        foreach (char c in value)
        {
            if (c < 0x100)
            {
                bytes.Add((byte)c);
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
            }
        }

        return [.. bytes];
    }
}
