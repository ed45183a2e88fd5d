// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;
using Iced.Intel;

namespace HyperDbgRemote.VmxDriver.Internal.Asm;

/// <content>Operands (registers, memory, immediates) and expressions.</content>
internal static partial class IcedTextAssembler
{
    private static object Operand(string text, Dictionary<string, long> constants, Dictionary<string, ulong> labels, ulong ip)
    {
        if (s_registers.TryGetValue(text, out object? register))
        {
            return register;
        }

        string t = text;
        string size = string.Empty;
        foreach (string s in (string[])["byte", "word", "dword", "qword"])
        {
            if (t.StartsWith(s + " ", StringComparison.OrdinalIgnoreCase) || t.StartsWith(s + "[", StringComparison.OrdinalIgnoreCase))
            {
                size = s;
                t = t[s.Length..].Trim();
                if (t.StartsWith("ptr", StringComparison.OrdinalIgnoreCase))
                {
                    t = t[3..].Trim();
                }

                break;
            }
        }

        if (t.StartsWith('[') && t.EndsWith(']'))
        {
            return Memory(size, t[1..^1], constants, labels, ip);
        }

        if (size.Length > 0)
        {
            throw new AssemblyException($"'{text}' has a size but is not a memory operand");
        }

        return Evaluate(t, constants, labels, ip);
    }

    private static object Memory(string size, string inner, Dictionary<string, long> constants, Dictionary<string, ulong> labels, ulong ip)
    {
        object? baseRegister = null;
        object? indexRegister = null;
        int scale = 1;
        var displacement = new System.Text.StringBuilder();
        foreach ((char sign, string term) in Terms(inner))
        {
            string t = term.Trim();
            string[] product = t.Split('*', StringSplitOptions.TrimEntries);
            if (product.Length == 2 && (s_registers.ContainsKey(product[0]) || s_registers.ContainsKey(product[1])))
            {
                bool first = s_registers.ContainsKey(product[0]);
                indexRegister = s_registers[first ? product[0] : product[1]];
                scale = (int)Evaluate(first ? product[1] : product[0], constants, labels, ip);
                continue;
            }

            if (s_registers.TryGetValue(t, out object? register) && sign == '+')
            {
                if (baseRegister is null)
                {
                    baseRegister = register;
                }
                else
                {
                    indexRegister = register;
                }

                continue;
            }

            displacement.Append(sign).Append('(').Append(t).Append(')');
        }

        long disp = displacement.Length == 0 ? 0 : Evaluate(displacement.ToString(), constants, labels, ip);
        dynamic factory = size switch
        {
            "byte" => AssemblerRegisters.__byte_ptr,
            "word" => AssemblerRegisters.__word_ptr,
            "dword" => AssemblerRegisters.__dword_ptr,
            "qword" => AssemblerRegisters.__qword_ptr,
            _ => AssemblerRegisters.__,
        };
        try
        {
            if (baseRegister is null && indexRegister is null)
            {
                return factory[disp];
            }

            dynamic? m = baseRegister;
            if (indexRegister is not null)
            {
                dynamic scaled = (dynamic)indexRegister * scale;
                m = m is null ? scaled : m + scaled;
            }

            if (disp != 0)
            {
                m = m! + disp;
            }

            return factory[m!];
        }
        catch (Microsoft.CSharp.RuntimeBinder.RuntimeBinderException ex)
        {
            throw new AssemblyException($"'[{inner}]' is not a valid memory operand", ex);
        }
    }

    private static IEnumerable<(char Sign, string Term)> Terms(string text)
    {
        int depth = 0;
        int start = 0;
        char sign = '+';
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '(')
            {
                depth++;
            }
            else if (c == ')')
            {
                depth--;
            }
            else if (depth == 0 && c is '+' or '-' && i > start)
            {
                yield return (sign, text[start..i]);
                sign = c;
                start = i + 1;
            }
            else if (depth == 0 && c is '+' or '-' && i == start)
            {
                sign = c;
                start = i + 1;
            }
        }

        yield return (sign, text[start..]);
    }

    /// <summary>Evaluates + - * / &lt;&lt; &gt;&gt; &amp; | ~ and parentheses over numbers (decimal, 0x, 0b, NNh),
    /// 'c' characters, equ names, labels and $ (the current address).</summary>
    public static long Evaluate(string text, Dictionary<string, long> constants, Dictionary<string, ulong> labels, ulong ip)
    {
        var p = new ExpressionParser(text, constants, labels, ip);
        long v = p.Or();
        p.ExpectEnd();
        return v;
    }

    private sealed class ExpressionParser(string text, Dictionary<string, long> constants, Dictionary<string, ulong> labels, ulong ip)
    {
        private int _i;

        private void Skip()
        {
            while (_i < text.Length && char.IsWhiteSpace(text[_i]))
            {
                _i++;
            }
        }

        private bool Eat(string op)
        {
            Skip();
            if (string.CompareOrdinal(text, _i, op, 0, op.Length) == 0)
            {
                _i += op.Length;
                return true;
            }

            return false;
        }

        public void ExpectEnd()
        {
            Skip();
            if (_i < text.Length)
            {
                throw new AssemblyException($"unexpected '{text[_i..]}' in '{text}'");
            }
        }

        public long Or()
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
                    v <<= (int)Sum();
                }
                else if (Eat(">>"))
                {
                    v = (long)((ulong)v >> (int)Sum());
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
                    v = d == 0 ? throw new AssemblyException($"division by zero in '{text}'") : v / d;
                }
                else
                {
                    return v;
                }
            }
        }

        private long Unary()
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
                if (!Eat(")"))
                {
                    throw new AssemblyException($"missing ')' in '{text}'");
                }

                return v;
            }

            return Atom();
        }

        private long Atom()
        {
            Skip();
            if (_i >= text.Length)
            {
                throw new AssemblyException($"an operand is missing in '{text}'");
            }

            if (text[_i] == '\'' && _i + 2 < text.Length && text[_i + 2] == '\'')
            {
                long c = text[_i + 1];
                _i += 3;
                return c;
            }

            if (text[_i] == '$' && (_i + 1 >= text.Length || !char.IsLetterOrDigit(text[_i + 1])))
            {
                _i++;
                return (long)ip;
            }

            int start = _i;
            while (_i < text.Length && (char.IsLetterOrDigit(text[_i]) || text[_i] is '_' or '.' or '@'))
            {
                _i++;
            }

            string word = text[start.._i];
            if (word.Length == 0)
            {
                throw new AssemblyException($"unexpected '{text[start..]}' in '{text}'");
            }

            if (char.IsDigit(word[0]))
            {
                return Number(word);
            }

            if (constants.TryGetValue(word, out long k))
            {
                return k;
            }

            if (labels.TryGetValue(word, out ulong a))
            {
                return (long)a;
            }

            throw new AssemblyException($"undefined name '{word}'");
        }

        private static long Number(string word)
        {
            string w = word.Replace("_", string.Empty, StringComparison.Ordinal);
            bool ok;
            ulong v;
            if (w.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            {
                ok = ulong.TryParse(w[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out v);
            }
            else if (w.StartsWith("0b", StringComparison.OrdinalIgnoreCase))
            {
                ok = true;
                v = 0;
                foreach (char c in w[2..])
                {
                    ok &= c is '0' or '1';
                    v = (v << 1) | (c == '1' ? 1UL : 0UL);
                }
            }
            else if (w.EndsWith('h') || w.EndsWith('H'))
            {
                ok = ulong.TryParse(w[..^1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out v);
            }
            else
            {
                ok = ulong.TryParse(w, NumberStyles.None, CultureInfo.InvariantCulture, out v);
            }

            return ok ? unchecked((long)v) : throw new AssemblyException($"'{word}' is not a number");
        }
    }
}
