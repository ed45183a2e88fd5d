// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

/// <summary>Finds the locals of one body whose address is taken (<c>&amp;x</c>, <c>reference(x)</c>) before code is
/// generated, so reads of those (and only those) narrow typed locals re-apply their conversion. Walks operator chains in
/// a loop and every other level recursively, as the parser bounded them (<see cref="ScriptLimits.MaxNesting"/>).</summary>
internal static class AddressTakenLocals
{
    public static void Collect(IReadOnlyList<Stmt> body, HashSet<string> names) => Collect(body, names, 0);

    private static void Collect(IReadOnlyList<Stmt> body, HashSet<string> names, int depth)
    {
        foreach (Stmt statement in body)
        {
            Visit(statement, names, depth);
        }
    }

    private static int Deeper(int depth)
    {
        if (depth >= ScriptLimits.MaxNesting)
        {
            throw new ScriptCompileException($"nesting deeper than {ScriptLimits.MaxNesting} levels; split the script");
        }

        return depth + 1;
    }

    private static void Visit(Stmt? statement, HashSet<string> names, int depth)
    {
        switch (statement)
        {
            case AssignStmt assign:
                foreach (Expr target in assign.Targets)
                {
                    Visit(target, names, depth);
                }

                Visit(assign.Value, names, depth);
                break;
            case IncDecStmt step:
                Visit(step.Target, names, depth);
                break;
            case DeclStmt declaration:
                Visit(declaration.Init, names, depth);
                foreach (Expr value in declaration.InitList ?? [])
                {
                    Visit(value, names, depth);
                }

                break;
            case ExprStmt expression:
                Visit(expression.Expr, names, depth);
                break;
            case IfStmt branch:
                foreach ((Expr condition, IReadOnlyList<Stmt> body) in branch.Branches)
                {
                    Visit(condition, names, depth);
                    Collect(body, names, Deeper(depth));
                }

                Collect(branch.Else ?? [], names, Deeper(depth));
                break;
            case WhileStmt loop:
                Visit(loop.Condition, names, depth);
                Collect(loop.Body, names, Deeper(depth));
                break;
            case DoWhileStmt loop:
                Collect(loop.Body, names, Deeper(depth));
                Visit(loop.Condition, names, depth);
                break;
            case ForStmt loop:
                Visit(loop.Init, names, depth);
                Visit(loop.Condition, names, depth);
                Visit(loop.Step, names, depth);
                Collect(loop.Body, names, Deeper(depth));
                break;
            case ReturnStmt exit:
                Visit(exit.Value, names, depth);
                break;
            default:
                break;
        }
    }

    private static void Visit(Expr? expression, HashSet<string> names, int depth)
    {
        if (expression is null)
        {
            return;
        }

        depth = Deeper(depth);
        switch (expression)
        {
            case UnaryExpr { Op: "&", Operand: LocalExpr local }:
                names.Add(local.Name);
                break;
            case CallExpr { Name: "reference", Args: [LocalExpr local] }:
                names.Add(local.Name);
                break;
            case UnaryExpr unary:
                Visit(unary.Operand, names, depth);
                break;
            case BinaryExpr binary:
                // The chain down the left side in a loop (Expr.Height).
                Expr left = binary;
                while (left is BinaryExpr link)
                {
                    Visit(link.Right, names, depth);
                    left = link.Left;
                }

                Visit(left, names, depth);
                break;
            case CallExpr call:
                foreach (Expr argument in call.Args)
                {
                    Visit(argument, names, depth);
                }

                break;
            case CastExpr cast:
                Visit(cast.Operand, names, depth);
                break;
            case IndexExpr index:
                Visit(index.Base, names, depth);
                Visit(index.Index, names, depth);
                break;
            case MemberExpr member:
                Visit(member.Base, names, depth);
                break;
            default:
                break;
        }
    }
}
