// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

internal sealed partial class Parser
{
    private static bool IsTypeWord(string word) =>
        word is "void" or "bool" or "char" or "short" or "int" or "long" or "unsigned" or "signed" or "float" or "double";

    private bool IsTypeStart(Token token) =>
        token.Kind == TokenKind.Identifier && (IsTypeWord(token.Text) || token.Text == "struct" || _typedefs.ContainsKey(token.Text));

    /// <summary>Members have their own names: hex words (<c>a</c>) and register names (<c>ax</c>) are allowed.</summary>
    private static bool IsMemberName(Token token) =>
        token.Kind is TokenKind.Identifier or TokenKind.Number or TokenKind.Register
        && token.Text.Length > 0 && (char.IsAsciiLetter(token.Text[0]) || token.Text[0] == '_')
        && !token.Text.Contains('`', StringComparison.Ordinal) && !Lexer.IsKeyword(token.Text);

    /// <summary>A type with its pointer stars: <c>unsigned int</c>, <c>char *</c>, <c>UINT32</c> (a typedef), <c>long **</c>.</summary>
    private CType ParseFullType()
    {
        CType type = Current.IsWord("struct") ? ParseStructReference()
            : _typedefs.TryGetValue(Current.Text, out CType? named) && Current.Kind == TokenKind.Identifier ? AdvanceReturning(named)
            : CType.Of(ParseType());
        while (Current.Is("*"))
        {
            Advance();
            type = type.PointerTo();
        }

        return type;
    }

    private CType AdvanceReturning(CType type)
    {
        Advance();
        return type;
    }

    /// <summary>A C type name made of type keywords (<c>unsigned int</c>, <c>long long</c>, <c>double</c> ...).</summary>
    private ScalarType ParseType()
    {
        Token start = Current;
        var words = new List<string>();
        while (Current.Kind == TokenKind.Identifier && IsTypeWord(Current.Text))
        {
            words.Add(Advance().Text);
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

    private DeclStmt ParseDeclaration(Token start, CType type)
    {
        Token name = Current;
        if (name.Kind == TokenKind.Global)
        {
            return ParseGlobalDeclaration(start, type, name);
        }

        RequireVariableName(name, "variable");
        if (type == CType.Of(ScalarType.Void))
        {
            throw Error(name, $"syntax error: variable '{name.Text}' cannot be void");
        }

        Advance();
        if (Current.Is("["))
        {
            return ParseArrayDeclaration(start, type, name);
        }

        Expr? init = null;
        List<Expr>? list = null;
        if (AcceptPunct("="))
        {
            if (type.IsStruct)
            {
                list = ParseInitialiserList(name);
            }
            else
            {
                init = ParseExpression();
            }
        }

        return new DeclStmt(start.Offset, type, name.Text, init, list);
    }

    /// <summary><c>int .g = 5;</c>: a typed global (HyperDbg 0.23 keeps a type per global, script-engine.c
    /// SetGlobalIdentifierVariableType); a scalar or a pointer, with or without an initial value.</summary>
    private DeclStmt ParseGlobalDeclaration(Token start, CType type, Token name)
    {
        if (type == CType.Of(ScalarType.Void) || type.IsStruct)
        {
            throw Error(name, $"syntax error: global '.{name.Text}' must be a number, a float or a pointer, not '{type}'");
        }

        Advance();
        if (Current.Is("["))
        {
            throw Error(Current, $"syntax error: global '.{name.Text}' cannot be an array; declare a local array");
        }

        Expr? init = AcceptPunct("=") ? ParseExpression() : null;
        return new DeclStmt(start.Offset, type, name.Text, init) { Global = true };
    }

    /// <summary><c>{ value, value, ... }</c> for an array or a struct.</summary>
    private List<Expr> ParseInitialiserList(Token name)
    {
        ExpectPunct("{", $"to start the initialiser of '{name.Text}'");
        var list = new List<Expr>();
        while (!Current.Is("}"))
        {
            if (list.Count > 0)
            {
                ExpectPunct(",", $"between the initial values of '{name.Text}'");
            }

            list.Add(ParseExpression());
        }

        Advance();
        return list;
    }

    /// <summary><c>int a[3] = {1, 2, 3};</c>, <c>char s[] = "abc";</c>: the length is a number (hex by default, like
    /// every number, spec 6.1) or comes from the initialiser.</summary>
    private DeclStmt ParseArrayDeclaration(Token start, CType element, Token name)
    {
        Token open = Advance();
        int length = -1;
        if (!Current.Is("]"))
        {
            // A number or sizeof(type): both are NumberExprs by now.
            Token size = Current;
            if (ParseUnary() is not NumberExpr { IsFloat: false, Value: > 0 and <= ScriptLimits.StackSlots * CType.AddressSize } count)
            {
                throw Error(size, $"syntax error: the length of array '{name.Text}' must be a number from 1 to {ScriptLimits.StackSlots * CType.AddressSize}");
            }

            length = (int)count.Value;
        }

        ExpectPunct("]", $"after the length of array '{name.Text}'");
        if (Current.Is("["))
        {
            throw Error(Current, "syntax error: arrays have one dimension in this engine (docs/script-language.md)");
        }

        Expr? init = null;
        List<Expr>? list = null;
        if (AcceptPunct("="))
        {
            if (Current.Kind == TokenKind.String)
            {
                init = ParsePrimary();
            }
            else
            {
                list = ParseInitialiserList(name);
            }
        }

        if (length < 0)
        {
            length = init is StringExpr text ? text.Bytes.Length + 1 : list?.Count ?? 0;
            if (length == 0)
            {
                throw Error(open, $"syntax error: array '{name.Text}' needs a length or an initialiser");
            }
        }

        return new DeclStmt(start.Offset, element with { Length = length }, name.Text, init, list);
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

    private FunctionDef ParseFunction(Token start, CType returnType)
    {
        Token name = Advance();
        if (returnType.IsStruct)
        {
            throw Error(name, $"syntax error: function '{name.Text}' cannot return a struct; return a pointer");
        }

        if (BuiltinTable.TryGet(name.Text, out _))
        {
            throw Error(name, $"syntax error: '{name.Text}' is a built-in function and cannot be redefined");
        }

        ExpectPunct("(", "after the function name");
        var parameters = new List<(CType, string, int)>();
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

            CType type = ParseFullType();
            Token parameter = Current;
            RequireVariableName(parameter, "parameter");
            if (type.IsStruct)
            {
                throw Error(parameter, $"syntax error: parameter '{parameter.Text}' is a struct; pass a pointer ('{type} *')");
            }
            if (type == CType.Of(ScalarType.Void))
            {
                throw Error(parameter, $"syntax error: parameter '{parameter.Text}' cannot be void");
            }

            Advance();
            parameters.Add((type, parameter.Text, parameter.Offset));
        }

        Advance();
        IReadOnlyList<Stmt> body = ParseBlock(name.Text);
        // A function returning a pointer returns a 64-bit address.
        return new FunctionDef(start.Offset, returnType.Storage, name.Text, parameters, body);
    }
}
