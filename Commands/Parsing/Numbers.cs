// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;

namespace HyperDbgRemote.Commands.Parsing;

/// <summary>
/// HyperDbg's numbers (spec 1.2): hex by default; 0x, x, \x hex; 0n, n decimal; 0o octal; 0y binary; backticks
/// ignored. Overflow and trailing garbage are errors (HyperDbg saturates on overflow: spec 9.5).
/// </summary>
internal static class Numbers
{
    public static bool TryParse(string text, out ulong value)
    {
        value = 0;
        string t = text.Replace("`", string.Empty, StringComparison.Ordinal).Trim();
        int radix = 16;
        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase) || t.StartsWith("\\x", StringComparison.OrdinalIgnoreCase))
        {
            t = t[2..];
        }
        else if (t.StartsWith("0n", StringComparison.OrdinalIgnoreCase) || t.StartsWith("\\n", StringComparison.OrdinalIgnoreCase))
        {
            (radix, t) = (10, t[2..]);
        }
        else if (t.StartsWith("0o", StringComparison.OrdinalIgnoreCase))
        {
            (radix, t) = (8, t[2..]);
        }
        else if (t.StartsWith("0y", StringComparison.OrdinalIgnoreCase))
        {
            (radix, t) = (2, t[2..]);
        }
        else if (t.StartsWith('x') || t.StartsWith('X'))
        {
            t = t[1..];
        }
        else if (t.StartsWith('n') || t.StartsWith('N'))
        {
            (radix, t) = (10, t[1..]);
        }

        if (t.Length == 0)
        {
            return false;
        }

        ulong v = 0;
        foreach (char c in t)
        {
            int d = char.IsAsciiDigit(c) ? c - '0' : char.IsAsciiHexDigitLower(c) ? c - 'a' + 10 : char.IsAsciiHexDigitUpper(c) ? c - 'A' + 10 : 99;
            if (d >= radix)
            {
                return false;
            }

            try
            {
                v = checked((v * (ulong)radix) + (ulong)d);
            }
            catch (OverflowException)
            {
                return false;
            }
        }

        value = v;
        return true;
    }

    /// <summary>Parses or throws a <see cref="CommandException"/> naming the option.</summary>
    public static ulong Parse(string text, string what, ulong max = ulong.MaxValue)
    {
        if (!TryParse(text, out ulong v) || v > max)
        {
            throw new CommandException($"{what} '{text}' is not a number{(max == ulong.MaxValue ? string.Empty : $" from 0 to {max:x}")} (hex by default; 0n for decimal).");
        }

        return v;
    }

    /// <summary>Formats hex as HyperDbg shows numbers.</summary>
    public static string Hex(ulong v) => v.ToString("x", CultureInfo.InvariantCulture);
}
