// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

internal sealed partial class Parser
{
    // Binary levels, lowest first (docs/script-language.md; HyperDbg BGRAM with the value grammar as its lower part, spec 6.5).
    private static readonly string[][] s_levels =
    [
        ["||"],
        ["&&"],
        ["|"],
        ["^"],
        ["&"],
        [">", "<", ">=", "<=", "==", "!="],
        ["<<", ">>"],
        ["+", "-"],
        ["*", "/", "%"],
    ];

    private Expr ParseExpression()
    {
        Enter(Current);
        Expr result = ParseBinary(0);
        Leave();
        return result;
    }

    private Expr ParseBinary(int level)
    {
        if (level == s_levels.Length)
        {
            return ParseUnary();
        }

        Expr left = ParseBinary(level + 1);
        while (Current.Kind == TokenKind.Punct && Array.IndexOf(s_levels[level], Current.Text) >= 0)
        {
            Token op = Advance();
            Expr right = ParseBinary(level + 1);
            left = Bounded(new BinaryExpr(op.Offset, op.Text, left, right));
        }

        return left;
    }

    private Expr ParseUnary()
    {
        Token token = Current;
        if (token.Kind == TokenKind.Punct)
        {
            switch (token.Text)
            {
                case "-":
                case "+":
                case "~":
                case "!":
                case "*":
                case "&":
                    Advance();
                    Enter(token);
                    Expr operand = ParseUnary();
                    Leave();
                    return Bounded(new UnaryExpr(token.Offset, token.Text, operand));
                case "++":
                case "--":
                    throw Error(token, $"syntax error: '{token.Text}' is a statement ('x{token.Text};'), not part of an expression");
                case "(" when IsTypeStart(Peek()):
                    Advance();
                    CType type = ParseFullType();
                    ExpectPunct(")", "to close the cast");
                    Enter(token);
                    Expr cast = ParseUnary();
                    Leave();
                    return Bounded(new CastExpr(token.Offset, type, cast));
                default:
                    break;
            }
        }

        if (token.IsWord("sizeof"))
        {
            return ParseSizeof();
        }

        Expr primary = ParsePrimary();
        while (true)
        {
            Token open = Current;
            if (AcceptPunct("["))
            {
                Enter(open);
                Expr index = ParseExpression();
                Leave();
                ExpectPunct("]", "to close '['");
                primary = Bounded(new IndexExpr(open.Offset, primary, index));
            }
            else if (AcceptPunct(".") || AcceptPunct("->"))
            {
                Token member = Current;
                if (!IsMemberName(member))
                {
                    throw Error(member, $"syntax error: expected a member name after '{open.Text}', found {member}");
                }

                Advance();
                primary = Bounded(new MemberExpr(open.Offset, primary, member.Text, open.Text == "->"));
            }
            else
            {
                return primary;
            }
        }
    }

    /// <summary><c>sizeof(type)</c> becomes a number now; <c>sizeof(expression)</c> is sized by the code generator.</summary>
    private Expr ParseSizeof()
    {
        Token start = Advance();
        ExpectPunct("(", "after 'sizeof'");
        Expr result;
        if (IsTypeStart(Current))
        {
            Token at = Current;
            CType type = ParseFullType();
            if (type == CType.Of(ScalarType.Void))
            {
                throw Error(at, "syntax error: sizeof(void) has no size");
            }

            result = new NumberExpr(start.Offset, (ulong)type.Size, IsFloat: false) { Size = true };
        }
        else
        {
            result = Bounded(new SizeofExpr(start.Offset, ParseExpression()));
        }

        ExpectPunct(")", "to close 'sizeof('");
        return result;
    }

    private Expr ParsePrimary()
    {
        Token token = Current;
        switch (token.Kind)
        {
            case TokenKind.Number:
                Advance();
                return new NumberExpr(token.Offset, token.Value, IsFloat: false) { Word = !char.IsAsciiDigit(token.Text[0]) };
            case TokenKind.Float:
                Advance();
                return new NumberExpr(token.Offset, token.Value, IsFloat: true);
            case TokenKind.String:
            case TokenKind.WideString:
                Advance();
                return new StringExpr(token.Offset, token.Text, token.Bytes!, token.Kind == TokenKind.WideString);
            case TokenKind.Register:
                Advance();
                return new RegisterExpr(token.Offset, (ScriptRegister)token.Value) { Bare = token.Length == token.Text.Length };
            case TokenKind.Pseudo:
                Advance();
                return new PseudoExpr(token.Offset, (PseudoRegister)token.Value);
            case TokenKind.Global:
                Advance();
                return new GlobalExpr(token.Offset, token.Text);
            case TokenKind.Identifier when _typedefs.ContainsKey(token.Text):
                throw Error(token, $"syntax error: '{token.Text}' is a type (typedef), not a value");
            case TokenKind.Identifier when !Lexer.IsKeyword(token.Text):
                Advance();
                return Current.Is("(") ? ParseCall(token) : new LocalExpr(token.Offset, token.Text);
            case TokenKind.Punct when token.Text == "(":
                Advance();
                Expr inner = ParseExpression();
                ExpectPunct(")", "to close '('");
                return inner;
            default:
                throw Error(token, token.Kind == TokenKind.End
                    ? "syntax error: the script ends in the middle of an expression"
                    : $"syntax error: unexpected {token} where a value was expected");
        }
    }

    private CallExpr ParseCall(Token name)
    {
        Token open = Advance();
        Enter(open);
        var args = new List<Expr>();
        while (!Current.Is(")"))
        {
            if (args.Count > 0)
            {
                ExpectPunct(",", $"between the arguments of '{name.Text}'");
            }

            args.Add(ParseExpression());
        }

        Advance();
        Leave();
        return Bounded(new CallExpr(name.Offset, name.Text, args));
    }
}
