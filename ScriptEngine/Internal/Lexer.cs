// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Collections.Frozen;

namespace HyperDbgRemote.Script.Internal;

/// <summary>
/// Splits a script into tokens following HyperDbg's scanner (spec 6.1, SCAN): case-sensitive; numbers hex by default;
/// a bare word made only of hex digits is a number unless a <c>(</c> follows; bare register names are registers;
/// <c>//</c> and <c>/* */</c> comments.
/// </summary>
internal sealed partial class Lexer
{
    private static readonly FrozenSet<string> s_keywords = new[]
    {
        "if", "elsif", "else", "while", "do", "for", "break", "continue", "return",
        "void", "bool", "char", "short", "int", "long", "unsigned", "signed", "float", "double",
        "struct", "typedef", "sizeof",
    }.ToFrozenSet(StringComparer.Ordinal);

    // Longest first: the lexer takes the first that matches.
    private static readonly string[] s_punctuators =
    [
        "<<=", ">>=", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<", ">>", "<=", ">=", "==", "!=",
        "&&", "||", "->", "+", "-", "*", "/", "%", "&", "|", "^", "~", "!", "<", ">", "=", "(", ")", "{", "}", "[", "]",
        ";", ",", ".", "#", "?", ":",
    ];

    private readonly string _source;
    private readonly IScriptSymbolResolver? _symbols;
    private readonly List<Token> _tokens = [];
    private int _pos;

    private Lexer(string source, IScriptSymbolResolver? symbols)
    {
        _source = source;
        _symbols = symbols;
    }

    public static bool IsKeyword(string word) => s_keywords.Contains(word);

    /// <summary>Tokens between two looks at the cancellation token.</summary>
    private const int CancellationStride = 4096;

    public static List<Token> Tokenize(string source, IScriptSymbolResolver? symbols, CancellationToken cancellation = default)
    {
        var lexer = new Lexer(source, symbols);
        lexer.Run(cancellation);
        return lexer._tokens;
    }

    private void Run(CancellationToken cancellation)
    {
        while (true)
        {
            if (_tokens.Count % CancellationStride == 0)
            {
                cancellation.ThrowIfCancellationRequested();
            }

            SkipTrivia();
            if (_pos >= _source.Length)
            {
                _tokens.Add(new Token(TokenKind.End, _source.Length, 0, string.Empty));
                return;
            }

            char c = _source[_pos];
            if (char.IsAsciiDigit(c) || (c == '.' && _pos + 1 < _source.Length && char.IsAsciiDigit(_source[_pos + 1])))
            {
                LexNumber();
            }
            else if (c == '"')
            {
                LexString(wide: false);
            }
            else if (c == 'L' && _pos + 1 < _source.Length && _source[_pos + 1] == '"')
            {
                _pos++;
                LexString(wide: true);
            }
            else if (IsWordStart(c))
            {
                LexWord();
            }
            else if (c == '@')
            {
                LexRegister();
            }
            else if (c == '$')
            {
                LexPseudo();
            }
            else if (c == '.' && _pos + 1 < _source.Length && IsWordStart(_source[_pos + 1]) && !FollowsOperand())
            {
                LexGlobal();
            }
            else
            {
                LexPunct();
            }
        }
    }

    /// <summary>True when a '.' touches the name, ']' or ')' before it: <c>s.x</c>, <c>pts[1].y</c>, <c>(*p).y</c> are
    /// member accesses;
    /// anywhere else <c>.name</c> is a global (spec 6.2).</summary>
    private bool FollowsOperand()
    {
        if (_tokens.Count == 0)
        {
            return false;
        }

        Token last = _tokens[^1];
        return last.Offset + last.Length == _pos
            && ((last.Kind == TokenKind.Identifier && !s_keywords.Contains(last.Text)) || last.Is("]") || last.Is(")"));
    }

    private static bool IsWordStart(char c) => char.IsAsciiLetter(c) || c == '_';

    private static bool IsWordChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    private void SkipTrivia()
    {
        while (_pos < _source.Length)
        {
            char c = _source[_pos];
            if (char.IsWhiteSpace(c))
            {
                _pos++;
            }
            else if (c == '/' && _pos + 1 < _source.Length && _source[_pos + 1] == '/')
            {
                int end = _source.IndexOf('\n', _pos);
                _pos = end < 0 ? _source.Length : end + 1;
            }
            else if (c == '/' && _pos + 1 < _source.Length && _source[_pos + 1] == '*')
            {
                int end = _source.IndexOf("*/", _pos + 2, StringComparison.Ordinal);
                if (end < 0)
                {
                    throw CompileError.At(_source, _pos, "syntax error: unterminated comment ('/*' without '*/')");
                }

                _pos = end + 2;
            }
            else
            {
                return;
            }
        }
    }

    private int ScanWord(int start)
    {
        int end = start;
        while (end < _source.Length && IsWordChar(_source[end]))
        {
            end++;
        }

        return end;
    }

    private void LexWord()
    {
        int start = _pos;
        int end = ScanWord(start);
        while (end < _source.Length && _source[end] == '`')
        {
            // A backtick continues a bare hex number (ffff`0000).
            end = ScanWord(end + 1);
        }

        string word = _source[start..end];
        if (word.Contains('`', StringComparison.Ordinal) && !IsHexWord(word))
        {
            throw CompileError.At(_source, start, $"syntax error (unknown token): '{word}' mixes a backtick into a name");
        }

        // module!symbol (e.g. nt!ExAllocatePoolWithTag), resolved now (spec 6.1).
        if (end + 1 < _source.Length && _source[end] == '!' && IsWordStart(_source[end + 1]))
        {
            int symbolEnd = ScanWord(end + 1);
            string qualified = _source[start..symbolEnd];
            if (_symbols is null || !_symbols.TryResolve(qualified, out ulong address))
            {
                throw CompileError.At(_source, start, $"syntax error (unknown token): symbol '{qualified}' cannot be resolved");
            }

            _pos = symbolEnd;
            _tokens.Add(new Token(TokenKind.Number, start, symbolEnd - start, qualified) { Value = address });
            return;
        }

        _pos = end;
        if (s_keywords.Contains(word))
        {
            _tokens.Add(new Token(TokenKind.Identifier, start, end - start, word));
            return;
        }

        if (IsHexWord(word) && !NextNonBlankIs('('))
        {
            // HyperDbg's identifier pitfall (spec 6.1): 'dead', 'da', 'f1' are numbers, hex by default.
            _tokens.Add(new Token(TokenKind.Number, start, end - start, word) { Value = ParseDigits(word, 0, word.Length, HexBase, start) });
            return;
        }

        if (RegisterTable.TryParse(word, out ScriptRegister register))
        {
            _tokens.Add(new Token(TokenKind.Register, start, end - start, word) { Value = (ulong)register });
            return;
        }

        _tokens.Add(new Token(TokenKind.Identifier, start, end - start, word));
    }

    private static bool IsHexWord(string word)
    {
        bool digit = false;
        foreach (char c in word)
        {
            if (char.IsAsciiHexDigit(c))
            {
                digit = true;
            }
            else if (c is not ('_' or '`'))
            {
                return false;
            }
        }

        return digit;
    }

    private bool NextNonBlankIs(char expected)
    {
        int i = _pos;
        while (i < _source.Length && char.IsWhiteSpace(_source[i]))
        {
            i++;
        }

        return i < _source.Length && _source[i] == expected;
    }

    private void LexRegister()
    {
        int start = _pos;
        int end = ScanWord(start + 1);
        string name = _source[(start + 1)..end];
        if (!RegisterTable.TryParse(name, out ScriptRegister register))
        {
            throw CompileError.At(_source, start, $"syntax error (unknown token): '@{name}' is not a register (names are lower case)");
        }

        _pos = end;
        _tokens.Add(new Token(TokenKind.Register, start, end - start, name) { Value = (ulong)register });
    }

    private void LexPseudo()
    {
        int start = _pos;
        int end = ScanWord(start + 1);
        string name = _source[(start + 1)..end];
        if (!PseudoRegisterTable.TryParse(name, out PseudoRegister pseudo))
        {
            throw CompileError.At(_source, start, $"syntax error (unknown token): '${name}' is not a pseudo-register");
        }

        _pos = end;
        _tokens.Add(new Token(TokenKind.Pseudo, start, end - start, name) { Value = (ulong)pseudo });
    }

    private void LexGlobal()
    {
        int start = _pos;
        int end = ScanWord(start + 1);
        _pos = end;
        _tokens.Add(new Token(TokenKind.Global, start, end - start, _source[(start + 1)..end]));
    }

    private void LexPunct()
    {
        foreach (string p in s_punctuators)
        {
            if (string.CompareOrdinal(_source, _pos, p, 0, p.Length) == 0)
            {
                _tokens.Add(new Token(TokenKind.Punct, _pos, p.Length, p));
                _pos += p.Length;
                return;
            }
        }

        throw CompileError.At(_source, _pos, $"syntax error (unknown token): unexpected character '{_source[_pos]}' (U+{(int)_source[_pos]:X4})");
    }
}
