// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

/// <summary>Finds the locals of one body whose address is taken (<c>&amp;x</c>, <c>reference(x)</c>) before code is
/// generated, so reads of those (and only those) narrow typed locals re-apply their conversion.</summary>
internal static class AddressTakenLocals
{
    public static void Collect(IReadOnlyList<Stmt> body, HashSet<string> names)
    {
        foreach (Stmt statement in body)
        {
            Visit(statement, names);
        }
    }

    private static void Visit(Stmt? statement, HashSet<string> names)
    {
        switch (statement)
        {
            case AssignStmt assign:
                foreach (Expr target in assign.Targets)
                {
                    Visit(target, names);
                }

                Visit(assign.Value, names);
                break;
            case IncDecStmt step:
                Visit(step.Target, names);
                break;
            case DeclStmt declaration:
                Visit(declaration.Init, names);
                foreach (Expr value in declaration.InitList ?? [])
                {
                    Visit(value, names);
                }

                break;
            case ExprStmt expression:
                Visit(expression.Expr, names);
                break;
            case IfStmt branch:
                foreach ((Expr condition, IReadOnlyList<Stmt> body) in branch.Branches)
                {
                    Visit(condition, names);
                    Collect(body, names);
                }

                Collect(branch.Else ?? [], names);
                break;
            case WhileStmt loop:
                Visit(loop.Condition, names);
                Collect(loop.Body, names);
                break;
            case DoWhileStmt loop:
                Collect(loop.Body, names);
                Visit(loop.Condition, names);
                break;
            case ForStmt loop:
                Visit(loop.Init, names);
                Visit(loop.Condition, names);
                Visit(loop.Step, names);
                Collect(loop.Body, names);
                break;
            case ReturnStmt exit:
                Visit(exit.Value, names);
                break;
            default:
                break;
        }
    }

    private static void Visit(Expr? expression, HashSet<string> names)
    {
        switch (expression)
        {
            case UnaryExpr { Op: "&", Operand: LocalExpr local }:
                names.Add(local.Name);
                break;
            case CallExpr { Name: "reference", Args: [LocalExpr local] }:
                names.Add(local.Name);
                break;
            case UnaryExpr unary:
                Visit(unary.Operand, names);
                break;
            case BinaryExpr binary:
                Visit(binary.Left, names);
                Visit(binary.Right, names);
                break;
            case CallExpr call:
                foreach (Expr argument in call.Args)
                {
                    Visit(argument, names);
                }

                break;
            case CastExpr cast:
                Visit(cast.Operand, names);
                break;
            case IndexExpr index:
                Visit(index.Base, names);
                Visit(index.Index, names);
                break;
            case MemberExpr member:
                Visit(member.Base, names);
                break;
            case SizeofExpr:
                break;
            default:
                break;
        }
    }
}
