// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

internal enum TokenKind
{
    End,
    Number,
    Float,
    String,
    WideString,
    Identifier,
    Register,
    Pseudo,
    Global,
    Punct,
}

/// <summary>One lexical token with its 0-based source offset (line and column are derived on error).</summary>
internal sealed class Token
{
    public Token(TokenKind kind, int offset, int length, string text)
    {
        Kind = kind;
        Offset = offset;
        Length = length;
        Text = text;
    }

    public TokenKind Kind { get; }

    public int Offset { get; }

    public int Length { get; }

    /// <summary>Identifier, punctuator, global or register name; the source text for numbers.</summary>
    public string Text { get; }

    /// <summary>Number value, double bits for floats, <see cref="ScriptRegister"/> or <see cref="PseudoRegister"/>.</summary>
    public ulong Value { get; init; }

    /// <summary>Encoded bytes of a string literal (UTF-8 or UTF-16LE), without the terminator.</summary>
    public byte[]? Bytes { get; init; }

    public bool Is(string punct) => Kind == TokenKind.Punct && Text == punct;

    public bool IsWord(string word) => Kind == TokenKind.Identifier && Text == word;

    public override string ToString() => Kind == TokenKind.End ? "end of script" : $"'{Text}'";
}
