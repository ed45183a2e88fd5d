// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

internal sealed partial class Parser
{
    /// <summary>One statement; returns null for a function definition (collected separately).</summary>
    private Stmt? ParseStatement(bool topLevel)
    {
        Token start = Current;
        if (start.Kind == TokenKind.Identifier)
        {
            switch (start.Text)
            {
                case "if":
                    return ParseIf();
                case "while":
                    return ParseWhile();
                case "do":
                    return ParseDoWhile();
                case "for":
                    return ParseFor();
                case "break":
                    Advance();
                    ExpectPunct(";", "after 'break'");
                    return new BreakStmt(start.Offset);
                case "continue":
                    Advance();
                    ExpectPunct(";", "after 'continue'");
                    return new ContinueStmt(start.Offset);
                case "return":
                    return ParseReturn();
                case "elsif":
                case "else":
                    throw Error(start, $"syntax error: '{start.Text}' without a matching 'if'");
                case "struct" when Peek(2).Is("{"):
                    ParseStructDefinition();
                    return null;
                case "typedef":
                    ParseTypedef();
                    return null;
                default:
                    break;
            }

            if (IsTypeStart(start))
            {
                CType type = ParseFullType();
                Token name = Current;
                if (Peek().Is("(") && name.Kind == TokenKind.Identifier)
                {
                    if (!topLevel)
                    {
                        throw Error(name, "syntax error: functions can only be defined at the top level of a script");
                    }

                    _functions.Add(ParseFunction(start, type));
                    return new FunctionDefinedStmt(start.Offset);
                }

                Stmt declaration = ParseDeclaration(start, type);
                ExpectPunct(";", "after the declaration");
                return declaration;
            }
        }

        if (start.Is("{"))
        {
            throw Error(start, "syntax error: a block '{ ... }' must follow if, elsif, else, while, do, for or a function");
        }

        Stmt simple = ParseSimpleStatement();
        ExpectPunct(";", "at the end of the statement");
        return simple;
    }

    private List<Stmt> ParseBlock(string owner)
    {
        Token open = Current;
        if (!open.Is("{"))
        {
            throw Error(open, $"syntax error: '{owner}' needs a body in braces '{{ ... }}', found {open}");
        }

        Enter(open);
        _blocks++;
        Advance();
        var body = new List<Stmt>();
        while (!Current.Is("}"))
        {
            if (Current.Kind == TokenKind.End)
            {
                throw Error(open, "syntax error: '{' is never closed");
            }

            Stmt? statement = ParseStatement(topLevel: false);
            if (statement is not null)
            {
                body.Add(statement);
            }
        }

        Advance();
        _blocks--;
        Leave();
        return body;
    }

    private Expr ParseCondition(string owner)
    {
        ExpectPunct("(", $"after '{owner}'");
        Expr condition = ParseExpression();
        ExpectPunct(")", $"to close the condition of '{owner}'");
        return condition;
    }

    private IfStmt ParseIf()
    {
        Token start = Advance();
        var branches = new List<(Expr, IReadOnlyList<Stmt>)>();
        Expr condition = ParseCondition("if");
        branches.Add((condition, ParseBlock("if")));
        IReadOnlyList<Stmt>? otherwise = null;
        while (true)
        {
            if (Current.IsWord("elsif"))
            {
                Advance();
                Expr next = ParseCondition("elsif");
                branches.Add((next, ParseBlock("elsif")));
            }
            else if (Current.IsWord("else"))
            {
                Advance();
                if (Current.IsWord("if"))
                {
                    throw Error(Current, "syntax error: write 'elsif', not 'else if'");
                }

                otherwise = ParseBlock("else");
                break;
            }
            else
            {
                break;
            }
        }

        return new IfStmt(start.Offset, branches, otherwise);
    }

    private WhileStmt ParseWhile()
    {
        Token start = Advance();
        Expr condition = ParseCondition("while");
        return new WhileStmt(start.Offset, condition, ParseBlock("while"));
    }

    private DoWhileStmt ParseDoWhile()
    {
        Token start = Advance();
        IReadOnlyList<Stmt> body = ParseBlock("do");
        if (!Current.IsWord("while"))
        {
            throw Error(Current, $"syntax error: expected 'while' after the body of 'do', found {Current}");
        }

        Advance();
        Expr condition = ParseCondition("while");
        ExpectPunct(";", "after 'do { ... } while (...)'");
        return new DoWhileStmt(start.Offset, body, condition);
    }

    private ForStmt ParseFor()
    {
        Token start = Advance();
        ExpectPunct("(", "after 'for'");
        Stmt? init = null;
        if (!Current.Is(";"))
        {
            init = IsTypeStart(Current) ? ParseDeclaration(Current, ParseFullType()) : ParseSimpleStatement();
        }

        ExpectPunct(";", "after the initialisation of 'for'");
        Expr? condition = Current.Is(";") ? null : ParseExpression();
        ExpectPunct(";", "after the condition of 'for'");
        Stmt? step = null;
        if (!Current.Is(")"))
        {
            step = ParseSimpleStatement();
            if (step is ExprStmt)
            {
                throw Error(step.Offset, "syntax error: the step of 'for' must update a variable (i++, i--, i += n, i = ...)");
            }
        }

        ExpectPunct(")", "to close 'for (...)'");
        return new ForStmt(start.Offset, init, condition, step, ParseBlock("for"));
    }

    private ReturnStmt ParseReturn()
    {
        Token start = Advance();
        Expr? value = Current.Is(";") ? null : ParseExpression();
        ExpectPunct(";", "after 'return'");
        return new ReturnStmt(start.Offset, value);
    }

    /// <summary>Assignment (plain, chained, compound), <c>++</c>/<c>--</c> (prefix or postfix) or a call.</summary>
    private Stmt ParseSimpleStatement()
    {
        Token start = Current;
        if (start.Is("++") || start.Is("--"))
        {
            Advance();
            Expr target = ParseUnary();
            RequireCounter(target, start);
            return new IncDecStmt(start.Offset, target, start.Text == "++");
        }

        Expr left = ParseExpression();
        Token op = Current;
        if (op.Is("++") || op.Is("--"))
        {
            RequireCounter(left, op);
            Advance();
            return new IncDecStmt(start.Offset, left, op.Text == "++");
        }

        if (op.Kind == TokenKind.Punct && op.Text is "+=" or "-=" or "*=" or "/=" or "%=" or "<<=" or ">>=" or "&=" or "|=" or "^=")
        {
            RequireLValue(left);
            Advance();
            return new AssignStmt(start.Offset, [left], op.Text[..^1], ParseExpression());
        }

        if (op.Is("="))
        {
            RequireLValue(left);
            var targets = new List<Expr> { left };
            Advance();
            Expr value = ParseExpression();
            while (Current.Is("="))
            {
                RequireLValue(value);
                targets.Add(value);
                Advance();
                value = ParseExpression();
            }

            return new AssignStmt(start.Offset, targets, "=", value);
        }

        if (left is not CallExpr)
        {
            throw Error(op.Kind == TokenKind.End ? start : op, $"syntax error: expected an assignment or a function call, found {op}");
        }

        return new ExprStmt(start.Offset, left);
    }

    /// <summary><c>++</c>/<c>--</c> apply to variables (locals, parameters, globals) and <c>*address</c>. Registers are
    /// rejected: the conformance corpus (04-for-loop-wrong) expects <c>@rax--</c> to be an error; write
    /// <c>@rax -= 1</c> instead.</summary>
    private void RequireCounter(Expr target, Token op)
    {
        if (target is RegisterExpr register)
        {
            throw Error(op, $"syntax error: '{op.Text}' needs a variable; change a register with an assignment (@{RegisterTable.Name(register.Register)} {op.Text[0]}= 1)");
        }

        RequireLValue(target);
    }

    private void RequireLValue(Expr target)
    {
        switch (target)
        {
            case LocalExpr:
            case GlobalExpr:
            case RegisterExpr:
            case UnaryExpr { Op: "*" }:
            case IndexExpr:
            case MemberExpr:
                return;
            case PseudoExpr p:
                throw Error(p.Offset, "syntax error: pseudo-registers are read-only (spec 6.2)");
            case NumberExpr n:
                throw Error(n.Offset, "syntax error: cannot assign to a number (a name made only of hex digits, such as 'abc', is a number; use a letter g-z)");
            default:
                throw Error(target.Offset, "syntax error: the left side must be a variable, a global, a register, '*address' or 'name[index]'");
        }
    }
}
