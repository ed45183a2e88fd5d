// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

internal sealed partial class Parser
{
    private static bool IsTypeWord(string word) =>
        word is "void" or "bool" or "char" or "short" or "int" or "long" or "unsigned" or "signed" or "float" or "double";

    private static bool IsTypeStart(Token token) => token.Kind == TokenKind.Identifier && IsTypeWord(token.Text);

    /// <summary>A C type name made of type keywords (<c>unsigned int</c>, <c>long long</c>, <c>double</c> ...).</summary>
    private ScalarType ParseType()
    {
        Token start = Current;
        var words = new List<string>();
        while (IsTypeStart(Current))
        {
            words.Add(Advance().Text);
        }

        if (Current.Is("*"))
        {
            throw Error(Current, "syntax error: pointer types are not supported; use an untyped variable to hold an address");
        }

        bool unsigned = words.Remove("unsigned");
        bool signed = words.Remove("signed");
        string key = string.Join(' ', words);
        ScalarType? type = key switch
        {
            "" when unsigned || signed => unsigned ? ScalarType.UInt : ScalarType.Int,
            "void" when !unsigned && !signed => ScalarType.Void,
            "bool" when !unsigned && !signed => ScalarType.Bool,
            "float" when !unsigned && !signed => ScalarType.Float,
            "double" or "long double" when !unsigned && !signed => ScalarType.Double,
            "char" => unsigned ? ScalarType.UChar : ScalarType.Char,
            "short" or "short int" => unsigned ? ScalarType.UShort : ScalarType.Short,
            "int" => unsigned ? ScalarType.UInt : ScalarType.Int,
            "long" or "long int" or "long long" or "long long int" => unsigned ? ScalarType.ULong : ScalarType.Long,
            _ => null,
        };

        if (type is null || (unsigned && signed))
        {
            throw Error(start, $"syntax error: '{string.Join(' ', words.Prepend(unsigned ? "unsigned" : signed ? "signed" : string.Empty).Where(static w => w.Length > 0))}' is not a type");
        }

        return type.Value;
    }

    private DeclStmt ParseDeclaration(Token start, ScalarType type)
    {
        Token name = Current;
        RequireVariableName(name, "variable");
        if (type == ScalarType.Void)
        {
            throw Error(name, $"syntax error: variable '{name.Text}' cannot be void");
        }

        Advance();
        if (Current.Is("["))
        {
            throw Error(Current, "syntax error: arrays are not supported by this engine (docs/script-language.md)");
        }

        Expr? init = null;
        if (AcceptPunct("="))
        {
            init = ParseExpression();
        }

        return new DeclStmt(start.Offset, type, name.Text, init);
    }

    private void RequireVariableName(Token name, string what)
    {
        switch (name.Kind)
        {
            case TokenKind.Identifier when !Lexer.IsKeyword(name.Text):
                return;
            case TokenKind.Number:
                throw Error(name, $"syntax error: '{name.Text}' reads as a hex number; a {what} name needs a letter g-z (spec 6.1)");
            case TokenKind.Register:
                throw Error(name, $"syntax error: '{name.Text}' is a register name and cannot name a {what}");
            default:
                throw Error(name, $"syntax error: expected a {what} name, found {name}");
        }
    }

    private FunctionDef ParseFunction(Token start, ScalarType returnType)
    {
        Token name = Advance();
        if (BuiltinTable.TryGet(name.Text, out _))
        {
            throw Error(name, $"syntax error: '{name.Text}' is a built-in function and cannot be redefined");
        }

        ExpectPunct("(", "after the function name");
        var parameters = new List<(ScalarType, string, int)>();
        if (Current.IsWord("void") && Peek().Is(")"))
        {
            Advance();
        }

        while (!Current.Is(")"))
        {
            if (parameters.Count > 0)
            {
                ExpectPunct(",", "between parameters");
            }

            if (!IsTypeStart(Current))
            {
                throw Error(Current, $"syntax error: expected a parameter type (e.g. 'int'), found {Current}");
            }

            ScalarType type = ParseType();
            Token parameter = Current;
            RequireVariableName(parameter, "parameter");
            if (type == ScalarType.Void)
            {
                throw Error(parameter, $"syntax error: parameter '{parameter.Text}' cannot be void");
            }

            Advance();
            parameters.Add((type, parameter.Text, parameter.Offset));
        }

        Advance();
        IReadOnlyList<Stmt> body = ParseBlock(name.Text);
        return new FunctionDef(start.Offset, returnType, name.Text, parameters, body);
    }
}
