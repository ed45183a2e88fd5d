// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;

namespace HyperDbgRemote.Commands.Parsing;

/// <summary>
/// HyperDbg's command tokenizer (spec 1.2): tokens split on whitespace outside quotes and braces; <c>{ … }</c> with
/// nesting and <c>\{</c> <c>\}</c> escapes forms one token with the braces removed; <c>"…"</c> outside braces is one
/// token without the quotes; <c>//</c> and <c>/* */</c> comments are removed outside braces and kept inside.
/// </summary>
internal static class Tokenizer
{
    /// <summary>Splits a command. Like HyperDbg's parser it accepts every input: an unclosed block or string runs to the
    /// end of the input (the prompt first asks for more lines while a brace is open, see <see cref="IsIncomplete"/>);
    /// the commands then check their tokens. The result is false only for a future stricter rule.</summary>
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
            // Only spaces and tabs separate words; a word keeps inner newlines but not leading or trailing ones.
            string word = current.ToString().Trim('\n', '\r');
            if (word.Length > 0)
            {
                list.Add(new Token(word, false, false));
            }

            current.Clear();
        }

        while (i < text.Length)
        {
            char c = text[i];
            if (c is ' ' or '\t')
            {
                Flush();
                i++;
            }
            else if (c == '/' && i + 1 < text.Length && text[i + 1] == '/' && !(current.Length > 0 && current[^1] == ':'))
            {
                // "scheme://" inside a word is an address (grpc://host, tcp://host), not a comment.
                // A line comment ends at a newline, or at a written "\n" as HyperDbg's parser does.
                Flush();
                while (i < text.Length && text[i] != '\n' && !(text[i] == '\\' && i + 1 < text.Length && text[i + 1] == 'n'))
                {
                    i++;
                }

                if (i < text.Length && text[i] == '\\')
                {
                    i += 2;
                }
            }
            else if (c == '/' && i + 1 < text.Length && text[i + 1] == '*')
            {
                // A block comment inside a word does not split it (HyperDbg: "a/*x*/b" is "ab").
                int end = text.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = end < 0 ? text.Length : end + 2;
            }
            else if (c == '{')
            {
                Flush();
                int depth = 0;
                bool quoted = false;
                var body = new StringBuilder();
                for (; i < text.Length; i++)
                {
                    char b = text[i];
                    if (b == '\\' && i + 1 < text.Length)
                    {
                        // In a string, and before a quote, the backslash stays; before a brace it escapes it.
                        char next = text[i + 1];
                        if (quoted || next == '"')
                        {
                            body.Append(b).Append(next);
                            i++;
                            continue;
                        }

                        if (next is '{' or '}')
                        {
                            body.Append(next);
                            i++;
                            continue;
                        }
                    }

                    if (b == '"')
                    {
                        quoted = !quoted;
                    }
                    else if (!quoted && b == '{')
                    {
                        if (depth++ == 0)
                        {
                            continue;
                        }
                    }
                    else if (!quoted && b == '}' && --depth == 0)
                    {
                        break;
                    }

                    body.Append(b);
                }

                // HyperDbg takes an unclosed block to the end of the input.
                list.Add(new Token(body.ToString(), true, false));
                i++;
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

                // HyperDbg takes an unclosed string to the end of the input.
                _ = start;
                list.Add(new Token(body.ToString(), false, true));
                i++;
            }
            else if (c == '\\' && i + 1 < text.Length && text[i + 1] is '{' or '}')
            {
                current.Append(text[i + 1]);
                i += 2;
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
