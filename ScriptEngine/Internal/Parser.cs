// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

/// <summary>
/// Recursive-descent parser for the grammar in docs/script-language.md (HyperDbg GRAM/BGRAM, spec 6.5-6.7). Builds a
/// <see cref="ScriptProgram"/>; every error is a <see cref="ScriptCompileException"/> pointing at the failing token.
/// </summary>
internal sealed partial class Parser
{
    /// <summary>Tokens between two looks at the cancellation token.</summary>
    private const int CancellationStride = 4096;

    private readonly SourceText _source;
    private readonly List<Token> _tokens;
    private readonly CancellationToken _cancellation;
    private readonly List<FunctionDef> _functions = [];
    private readonly Dictionary<string, CType> _typedefs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, StructLayout> _structs = new(StringComparer.Ordinal);
    private int _index;

    // The parser's own recursion (blocks, parentheses, operands): bounds its stack.
    private int _depth;

    // Blocks around the statement being parsed: blocks plus an expression's height must stay within the limit.
    private int _blocks;

    private Parser(SourceText source, List<Token> tokens, CancellationToken cancellation)
    {
        _source = source;
        _tokens = tokens;
        _cancellation = cancellation;
    }

    /// <summary>Parses <paramref name="tokens"/>; a syntax error or nesting beyond <see cref="ScriptLimits.MaxNesting"/>
    /// throws <see cref="ScriptCompileException"/>, cancellation <see cref="OperationCanceledException"/>.</summary>
    public static ScriptProgram Parse(SourceText source, List<Token> tokens, CancellationToken cancellation = default)
    {
        var parser = new Parser(source, tokens, cancellation);
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
            if (_index % CancellationStride == 0)
            {
                _cancellation.ThrowIfCancellationRequested();
            }
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
        if (++_depth > ScriptLimits.MaxNesting)
        {
            throw NestingError(at.Offset);
        }
    }

    private void Leave() => _depth--;

    /// <summary>Returns <paramref name="node"/> once its height plus the blocks around it is within
    /// <see cref="ScriptLimits.MaxNesting"/> (operator chains count once: <see cref="Expr.Height"/>).</summary>
    private T Bounded<T>(T node)
        where T : Expr
    {
        if (_blocks + node.Height > ScriptLimits.MaxNesting)
        {
            throw NestingError(node.Offset);
        }

        return node;
    }

    private ScriptCompileException NestingError(int offset) =>
        Error(offset, $"syntax error: nesting deeper than {ScriptLimits.MaxNesting} levels (blocks, parentheses, operators, calls and indexing together); split the script");
}
