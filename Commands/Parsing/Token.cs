// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Commands.Parsing;

/// <summary>A command-line token: a plain word, a <c>{ … }</c> bracket string (braces removed) or a quoted string.</summary>
internal readonly record struct Token(string Value, bool IsBracket, bool IsQuoted)
{
    /// <summary>Lower-case value for keyword matching.</summary>
    public string Lower => Value.ToLowerInvariant();

    /// <summary>True for a plain word equal to <paramref name="keyword"/> (case-insensitive).</summary>
    public bool Is(string keyword) => !IsBracket && !IsQuoted && Value.Equals(keyword, StringComparison.OrdinalIgnoreCase);
}
