// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;

namespace HyperDbgRemote.Host.Parsing;

/// <summary>
/// HyperDbg's command tokenizer (spec 1.2): tokens split on whitespace outside quotes and braces; <c>{ … }</c> with
/// nesting and <c>\{</c> <c>\}</c> escapes forms one token with the braces removed; <c>"…"</c> outside braces is one
/// token without the quotes; <c>//</c> and <c>/* */</c> comments are removed outside braces and kept inside.
/// </summary>
internal static class Tokenizer
{
    /// <summary>Splits a command; fails with the position of an unbalanced brace or quote.</summary>
    public static bool TryTokenize(string text, out List<Token> tokens, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        var list = new List<Token>();
        tokens = list;
        error = null;
        var current = new StringBuilder();
        int i = 0;
        void Flush()
        {
            if (current.Length > 0)
            {
                list.Add(new Token(current.ToString(), false, false));
                current.Clear();
            }
        }

        while (i < text.Length)
        {
            char c = text[i];
            if (char.IsWhiteSpace(c))
            {
                Flush();
                i++;
            }
            else if (c == '/' && i + 1 < text.Length && text[i + 1] == '/')
            {
                Flush();
                while (i < text.Length && text[i] != '\n')
                {
                    i++;
                }
            }
            else if (c == '/' && i + 1 < text.Length && text[i + 1] == '*')
            {
                Flush();
                int end = text.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = end < 0 ? text.Length : end + 2;
            }
            else if (c == '{')
            {
                Flush();
                int start = i;
                int depth = 0;
                var body = new StringBuilder();
                for (; i < text.Length; i++)
                {
                    char b = text[i];
                    if (b == '\\' && i + 1 < text.Length && text[i + 1] is '{' or '}')
                    {
                        body.Append(text[++i]);
                        continue;
                    }

                    if (b == '{')
                    {
                        if (depth++ == 0)
                        {
                            continue;
                        }
                    }
                    else if (b == '}' && --depth == 0)
                    {
                        break;
                    }

                    body.Append(b);
                }

                if (depth != 0)
                {
                    error = $"the brace at column {start + 1} is not closed.";
                    return false;
                }

                tokens.Add(new Token(body.ToString(), true, false));
                i++;
            }
            else if (c == '}')
            {
                error = $"the brace at column {i + 1} closes nothing.";
                return false;
            }
            else if (c == '"')
            {
                Flush();
                int start = i++;
                var body = new StringBuilder();
                while (i < text.Length && text[i] != '"')
                {
                    if (text[i] == '\\' && i + 1 < text.Length && text[i + 1] == '"')
                    {
                        i++;
                    }

                    body.Append(text[i++]);
                }

                if (i >= text.Length)
                {
                    error = $"the quote at column {start + 1} is not closed.";
                    return false;
                }

                tokens.Add(new Token(body.ToString(), false, true));
                i++;
            }
            else
            {
                current.Append(c);
                i++;
            }
        }

        Flush();
        return true;
    }

    /// <summary>True while a brace is open: a REPL keeps reading lines into the same command.</summary>
    public static bool IsIncomplete(string text)
    {
        int depth = 0;
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\\' && i + 1 < text.Length && depth > 0)
            {
                i++;
                continue;
            }

            if (c == '"' && depth == 0)
            {
                quoted = !quoted;
            }
            else if (!quoted && c == '{')
            {
                depth++;
            }
            else if (!quoted && c == '}')
            {
                depth--;
            }
        }

        return depth > 0;
    }
}
