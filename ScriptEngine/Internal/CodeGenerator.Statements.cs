// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

internal sealed partial class CodeGenerator
{
    private void EmitBlock(IReadOnlyList<Stmt> body)
    {
        foreach (Stmt statement in body)
        {
            _work++;
            EmitStatement(statement);
        }
    }

    /// <summary>The body of if/elsif/else/while/do/for, one nesting level deeper (<see cref="ScriptLimits.MaxNesting"/>).</summary>
    private void EmitBody(IReadOnlyList<Stmt> body, int offset)
    {
        Descend(offset);
        EmitBlock(body);
        Ascend();
    }

    private void EmitStatement(Stmt statement)
    {
        switch (statement)
        {
            case AssignStmt assign:
                EmitAssign(assign);
                break;
            case IncDecStmt step:
                EmitCompound(step.Target, step.Increment ? "+" : "-", new NumberExpr(step.Offset, 1, IsFloat: false), step.Offset);
                break;
            case DeclStmt declaration:
                EmitDeclaration(declaration);
                break;
            case ExprStmt expression:
                EmitExpr(expression.Expr);
                Emit(OpCode.Pop, 0, 0, -1);
                break;
            case IfStmt branch:
                EmitIf(branch);
                break;
            case WhileStmt loop:
                EmitWhile(loop);
                break;
            case DoWhileStmt loop:
                EmitDoWhile(loop);
                break;
            case ForStmt loop:
                EmitFor(loop);
                break;
            case BreakStmt jump:
                CurrentLoop(jump.Offset, "break").Breaks.Add(Emit(OpCode.Jump, 0, 0, 0));
                break;
            case ContinueStmt jump:
                CurrentLoop(jump.Offset, "continue").Continues.Add(Emit(OpCode.Jump, 0, 0, 0));
                break;
            case ReturnStmt exit:
                EmitReturn(exit);
                break;
            default:
                throw Error(statement.Offset, "unhandled statement");
        }
    }

    private LoopLabels CurrentLoop(int offset, string keyword)
    {
        if (_fn.Loops.Count == 0)
        {
            throw Error(offset, $"'{keyword}' is only allowed inside a loop");
        }

        return _fn.Loops[^1];
    }

    private void EmitDeclaration(DeclStmt declaration)
    {
        CType type = declaration.Type;
        if (_fn.Locals.TryGetValue(declaration.Name, out LocalVariable? existing))
        {
            if (existing.CType != type && (existing.Fixed || type.IsAggregate || existing.IsAggregate))
            {
                throw Error(declaration.Offset, $"variable '{declaration.Name}' was already used as another type");
            }

            existing.Type = type.Storage;
            existing.Shape = type.Pointers > 0 ? type : null;
            existing.Fixed = true;
        }
        else
        {
            existing = _fn.Declare(declaration.Name, type);
        }

        if (type.IsAggregate)
        {
            EmitAggregateInitialiser(declaration, existing);
            return;
        }

        if (declaration.Init is null)
        {
            Emit(OpCode.PushConst, 0, 0, 1);
        }
        else
        {
            ExprType value = EmitValue(declaration.Init, "the initial value");
            if (type.IsPointer && value == ExprType.Float)
            {
                throw Error(declaration.Init.Offset, $"type error: pointer '{declaration.Name}' cannot hold a float");
            }

            ConvertTop(value, existing.Type);
        }

        Emit(OpCode.StoreLocal, existing.Slot, 0, -1);
    }

    private void EmitIf(IfStmt branch)
    {
        var ends = new List<int>();
        foreach ((Expr condition, IReadOnlyList<Stmt> body) in branch.Branches)
        {
            EmitCondition(condition);
            int skip = Emit(OpCode.JumpIfZero, 0, 0, -1);
            EmitBody(body, condition.Offset);
            ends.Add(Emit(OpCode.Jump, 0, 0, 0));
            Patch(skip, _code.Count);
        }

        if (branch.Else is not null)
        {
            EmitBody(branch.Else, branch.Offset);
        }

        foreach (int end in ends)
        {
            Patch(end, _code.Count);
        }
    }

    private void EmitWhile(WhileStmt loop)
    {
        int start = _code.Count;
        EmitCondition(loop.Condition);
        int exit = Emit(OpCode.JumpIfZero, 0, 0, -1);
        LoopLabels labels = EmitLoopBody(loop.Body, loop.Offset);
        Emit(OpCode.Jump, start, 0, 0);
        CloseLoop(labels, breakTarget: _code.Count, continueTarget: start);
        Patch(exit, _code.Count);
    }

    private void EmitDoWhile(DoWhileStmt loop)
    {
        int start = _code.Count;
        LoopLabels labels = EmitLoopBody(loop.Body, loop.Offset);
        int condition = _code.Count;
        EmitCondition(loop.Condition);
        Emit(OpCode.JumpIfNotZero, start, 0, -1);
        CloseLoop(labels, breakTarget: _code.Count, continueTarget: condition);
    }

    private void EmitFor(ForStmt loop)
    {
        if (loop.Init is not null)
        {
            EmitStatement(loop.Init);
        }

        int start = _code.Count;
        int exit = -1;
        if (loop.Condition is not null)
        {
            EmitCondition(loop.Condition);
            exit = Emit(OpCode.JumpIfZero, 0, 0, -1);
        }

        LoopLabels labels = EmitLoopBody(loop.Body, loop.Offset);
        int step = _code.Count;
        if (loop.Step is not null)
        {
            EmitStatement(loop.Step);
        }

        Emit(OpCode.Jump, start, 0, 0);
        CloseLoop(labels, breakTarget: _code.Count, continueTarget: step);
        if (exit >= 0)
        {
            Patch(exit, _code.Count);
        }
    }

    private LoopLabels EmitLoopBody(IReadOnlyList<Stmt> body, int offset)
    {
        var labels = new LoopLabels();
        _fn.Loops.Add(labels);
        EmitBody(body, offset);
        _fn.Loops.RemoveAt(_fn.Loops.Count - 1);
        return labels;
    }

    private void CloseLoop(LoopLabels labels, int breakTarget, int continueTarget)
    {
        labels.Breaks.ForEach(at => Patch(at, breakTarget));
        labels.Continues.ForEach(at => Patch(at, continueTarget));
    }

    private void EmitReturn(ReturnStmt exit)
    {
        if (_fn.IsMain)
        {
            if (exit.Value is not null)
            {
                throw Error(exit.Offset, "the script's top level cannot return a value (use 'return;')");
            }

            Emit(OpCode.End, 0, 0, 0);
            return;
        }

        if (_fn.ReturnType == ScalarType.Void)
        {
            if (exit.Value is not null)
            {
                throw Error(exit.Offset, $"void function '{_fn.Name}' cannot return a value");
            }

            Emit(OpCode.PushConst, 0, 0, 1);
        }
        else
        {
            if (exit.Value is null)
            {
                throw Error(exit.Offset, $"function '{_fn.Name}' must return a value");
            }

            ConvertTop(EmitValue(exit.Value, "the return value"), _fn.ReturnType);
            _fn.ReturnsValue = true;
        }

        Emit(OpCode.Return, 0, 0, -1);
    }
}
