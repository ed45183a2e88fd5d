// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

/// <summary>
/// Recursive-descent parser for the grammar in docs/script-language.md (HyperDbg GRAM/BGRAM, spec 6.5-6.7). Builds a
/// <see cref="ScriptProgram"/>; every error is a <see cref="ScriptCompileException"/> pointing at the failing token.
/// </summary>
internal sealed partial class Parser
{
    /// <summary>Nesting bound for blocks and parentheses, so hostile input cannot overflow the host stack.</summary>
    private const int MaxNesting = 200;

    private readonly SourceText _source;
    private readonly List<Token> _tokens;
    private readonly List<FunctionDef> _functions = [];
    private readonly Dictionary<string, CType> _typedefs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, StructLayout> _structs = new(StringComparer.Ordinal);
    private int _index;
    private int _depth;

    private Parser(SourceText source, List<Token> tokens)
    {
        _source = source;
        _tokens = tokens;
    }

    public static ScriptProgram Parse(SourceText source, List<Token> tokens)
    {
        var parser = new Parser(source, tokens);
        var body = new List<Stmt>();
        while (parser.Current.Kind != TokenKind.End)
        {
            Stmt? statement = parser.ParseStatement(topLevel: true);
            if (statement is not null)
            {
                body.Add(statement);
            }
        }

        return new ScriptProgram(body, parser._functions);
    }

    private Token Current => _tokens[_index];

    private Token Peek(int ahead = 1) => _tokens[Math.Min(_index + ahead, _tokens.Count - 1)];

    private Token Advance()
    {
        Token token = _tokens[_index];
        if (_index < _tokens.Count - 1)
        {
            _index++;
        }

        return token;
    }

    private bool AcceptPunct(string punct)
    {
        if (Current.Is(punct))
        {
            Advance();
            return true;
        }

        return false;
    }

    private Token ExpectPunct(string punct, string context)
    {
        if (!Current.Is(punct))
        {
            throw Error(Current, $"syntax error: expected '{punct}' {context}, found {Current}");
        }

        return Advance();
    }

    private ScriptCompileException Error(Token token, string cause) => _source.Error(token, cause);

    private ScriptCompileException Error(int offset, string cause) => _source.Error(offset, cause);

    private void Enter(Token at)
    {
        if (++_depth > MaxNesting)
        {
            throw Error(at, $"syntax error: nesting deeper than {MaxNesting} levels; split the script");
        }
    }

    private void Leave() => _depth--;
}
