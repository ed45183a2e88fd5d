// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

/// <summary>
/// <c>#include "file"</c> (spec 6.1): replaces the directive by the tokens of the file, as if its text were written
/// in place. Files come from <see cref="ScriptCompileOptions.IncludeResolver"/>; a missing resolver or file, a cycle
/// and nesting deeper than <see cref="ScriptLimits.MaxIncludeDepth"/> are compile errors at the directive.
/// </summary>
internal static class Includes
{
    public static List<Token> Expand(List<Token> tokens, SourceText text, ScriptCompileOptions? options, CancellationToken cancellation = default)
    {
        if (!tokens.Exists(static t => t.Is("#")))
        {
            return tokens;
        }

        var result = new List<Token>(tokens.Count);
        ExpandInto(result, tokens, text, options, [], cancellation);
        return result;
    }

    private static void ExpandInto(List<Token> result, List<Token> tokens, SourceText text, ScriptCompileOptions? options, List<string> chain, CancellationToken cancellation)
    {
        for (int i = 0; i < tokens.Count; i++)
        {
            Token hash = tokens[i];
            if (!hash.Is("#"))
            {
                result.Add(hash);
                continue;
            }

            Token? keyword = i + 1 < tokens.Count ? tokens[i + 1] : null;
            Token? file = i + 2 < tokens.Count ? tokens[i + 2] : null;
            if (keyword is null || !keyword.IsWord("include"))
            {
                throw text.Error(hash, "syntax error: '#' must start '#include \"file\"'");
            }

            if (file is null || file.Kind != TokenKind.String)
            {
                throw text.Error(keyword, "syntax error: #include needs a file name in double quotes: #include \"file\"");
            }

            string name = file.Text;
            IScriptIncludeResolver resolver = options?.IncludeResolver
                ?? throw text.Error(hash, "#include: includes are not available here (no include resolver)");
            if (chain.Contains(name, StringComparer.Ordinal))
            {
                throw text.Error(file, $"#include: include cycle: {string.Join(" -> ", chain.Append(name).Select(static n => $"\"{n}\""))}");
            }

            if (chain.Count >= ScriptLimits.MaxIncludeDepth)
            {
                throw text.Error(file, $"#include: includes nested deeper than {ScriptLimits.MaxIncludeDepth} levels");
            }

            string content = resolver.Resolve(name) ?? throw text.Error(file, $"#include: cannot find \"{name}\"");
            if (content.Length > ScriptLimits.MaxSourceLength || text.TotalLength + content.Length > ScriptLimits.MaxIncludedSources * ScriptLimits.MaxSourceLength)
            {
                throw text.Error(file, $"#include: \"{name}\" makes the script longer than the limit");
            }

            int start = text.Add(name, content);
            List<Token> included = Tokenize(content, name, start, options, cancellation);
            chain.Add(name);
            ExpandInto(result, included, text, options, chain, cancellation);
            chain.RemoveAt(chain.Count - 1);
            i += 2;
        }
    }

    /// <summary>Tokens of an included file, moved to its base offset, without the end marker.</summary>
    private static List<Token> Tokenize(string content, string name, int start, ScriptCompileOptions? options, CancellationToken cancellation)
    {
        List<Token> tokens;
        try
        {
            tokens = Lexer.Tokenize(content, options?.SymbolResolver, cancellation);
        }
        catch (ScriptCompileException e)
        {
            throw new ScriptCompileException(e.Cause, e.Line, e.Column, e.SourceLine, name);
        }

        var moved = new List<Token>(tokens.Count - 1);
        foreach (Token token in tokens)
        {
            if (token.Kind != TokenKind.End)
            {
                moved.Add(new Token(token.Kind, token.Offset + start, token.Length, token.Text) { Value = token.Value, Bytes = token.Bytes });
            }
        }

        return moved;
    }
}
