// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;

namespace HyperDbgRemote.Asm.Internal;

/// <summary>
/// Evaluates <c>| &amp; &lt;&lt; &gt;&gt; + - * / ~</c> and parentheses over numbers (decimal, <c>0x</c>, <c>0b</c>,
/// <c>NNh</c>), <c>'c'</c> characters, <c>equ</c> names, labels and <c>$</c> (the current address). Arithmetic wraps at
/// 64 bits. Every failure is an <see cref="AssemblyException"/>.
/// </summary>
internal sealed class ExpressionParser
{
    private const int MaxDepth = 64;
    private readonly string _text;
    private readonly IReadOnlyDictionary<string, long> _constants;
    private readonly IReadOnlyDictionary<string, ulong> _labels;
    private readonly ulong _ip;
    private int _i;
    private int _depth;

    private ExpressionParser(string text, IReadOnlyDictionary<string, long> constants, IReadOnlyDictionary<string, ulong> labels, ulong ip)
    {
        _text = text;
        _constants = constants;
        _labels = labels;
        _ip = ip;
    }

    /// <summary>Whether the expression named a label or <c>$</c> (an address rather than a plain number).</summary>
    public bool UsedAddress { get; private set; }

    public static long Evaluate(string text, IReadOnlyDictionary<string, long> constants, IReadOnlyDictionary<string, ulong> labels, ulong ip) =>
        Evaluate(text, constants, labels, ip, out _);

    public static long Evaluate(
        string text, IReadOnlyDictionary<string, long> constants, IReadOnlyDictionary<string, ulong> labels, ulong ip, out bool usedAddress)
    {
        var p = new ExpressionParser(text, constants, labels, ip);
        long v = p.Or();
        p.ExpectEnd();
        usedAddress = p.UsedAddress;
        return v;
    }

    private void Skip()
    {
        while (_i < _text.Length && char.IsWhiteSpace(_text[_i]))
        {
            _i++;
        }
    }

    private bool Eat(string op)
    {
        Skip();
        if (string.CompareOrdinal(_text, _i, op, 0, op.Length) == 0)
        {
            _i += op.Length;
            return true;
        }

        return false;
    }

    private void ExpectEnd()
    {
        Skip();
        if (_i < _text.Length)
        {
            throw new AssemblyException($"unexpected '{_text[_i..]}' in '{_text}'");
        }
    }

    private long Or()
    {
        long v = And();
        while (Eat("|"))
        {
            v |= And();
        }

        return v;
    }

    private long And()
    {
        long v = Shift();
        while (Eat("&"))
        {
            v &= Shift();
        }

        return v;
    }

    private long Shift()
    {
        long v = Sum();
        while (true)
        {
            if (Eat("<<"))
            {
                long n = Sum();
                v = n is >= 0 and < 64 ? v << (int)n : 0;
            }
            else if (Eat(">>"))
            {
                long n = Sum();
                v = n is >= 0 and < 64 ? (long)((ulong)v >> (int)n) : 0;
            }
            else
            {
                return v;
            }
        }
    }

    private long Sum()
    {
        long v = Product();
        while (true)
        {
            if (Eat("+"))
            {
                v = unchecked(v + Product());
            }
            else if (Eat("-"))
            {
                v = unchecked(v - Product());
            }
            else
            {
                return v;
            }
        }
    }

    private long Product()
    {
        long v = Unary();
        while (true)
        {
            if (Eat("*"))
            {
                v = unchecked(v * Unary());
            }
            else if (Eat("/"))
            {
                long d = Unary();
                v = d == 0 ? throw new AssemblyException($"division by zero in '{_text}'") : d == -1 ? unchecked(-v) : v / d;
            }
            else
            {
                return v;
            }
        }
    }

    private long Unary()
    {
        if (++_depth > MaxDepth)
        {
            throw new AssemblyException($"'{_text}' is nested too deeply");
        }

        try
        {
            if (Eat("-"))
            {
                return unchecked(-Unary());
            }

            if (Eat("~"))
            {
                return ~Unary();
            }

            if (Eat("+"))
            {
                return Unary();
            }

            if (Eat("("))
            {
                long v = Or();
                return Eat(")") ? v : throw new AssemblyException($"missing ')' in '{_text}'");
            }

            return Atom();
        }
        finally
        {
            _depth--;
        }
    }

    private long Atom()
    {
        Skip();
        if (_i >= _text.Length)
        {
            throw new AssemblyException($"a value is missing in '{_text}'");
        }

        if (_text[_i] == '\'' && _i + 2 < _text.Length && _text[_i + 2] == '\'')
        {
            long c = _text[_i + 1];
            _i += 3;
            return c;
        }

        if (_text[_i] == '$' && (_i + 1 >= _text.Length || !char.IsLetterOrDigit(_text[_i + 1])))
        {
            _i++;
            UsedAddress = true;
            return (long)_ip;
        }

        int start = _i;
        while (_i < _text.Length && (char.IsAsciiLetterOrDigit(_text[_i]) || _text[_i] is '_' or '.' or '@'))
        {
            _i++;
        }

        string word = _text[start.._i];
        if (word.Length == 0)
        {
            throw new AssemblyException($"unexpected '{_text[start..]}' in '{_text}'");
        }

        if (char.IsAsciiDigit(word[0]))
        {
            return Number(word);
        }

        if (_constants.TryGetValue(word, out long k))
        {
            return k;
        }

        if (_labels.TryGetValue(word, out ulong a))
        {
            UsedAddress = true;
            return (long)a;
        }

        throw new AssemblyException($"undefined label '{word}'");
    }

    private static long Number(string word)
    {
        string w = word.Replace("_", string.Empty, StringComparison.Ordinal);
        bool ok;
        ulong v;
        if (w.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            ok = ulong.TryParse(w.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out v);
        }
        else if (w.StartsWith("0b", StringComparison.OrdinalIgnoreCase) && !w.EndsWith('h') && !w.EndsWith('H'))
        {
            ok = w.Length is > 2 and <= 66;
            v = 0;
            foreach (char c in w.AsSpan(2))
            {
                ok &= c is '0' or '1';
                v = (v << 1) | (c == '1' ? 1UL : 0UL);
            }
        }
        else if (w.EndsWith('h') || w.EndsWith('H'))
        {
            ok = ulong.TryParse(w.AsSpan(0, w.Length - 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out v);
        }
        else
        {
            ok = ulong.TryParse(w, NumberStyles.None, CultureInfo.InvariantCulture, out v);
        }

        return ok ? unchecked((long)v) : throw new AssemblyException($"'{word}' is not a number (or does not fit in 64 bits)");
    }
}
