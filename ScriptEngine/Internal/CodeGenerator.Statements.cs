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
                EmitCompound(step.Target, step.Increment ? "+" : "-", new NumberExpr(step.Offset, 1, IsFloat: false), step.Offset, incDec: true);
                break;
            case DeclStmt declaration:
                EmitDeclaration(declaration);
                break;
            case ExprStmt expression:
                EmitExpr(expression.Expr);
                if (expression.Expr is CallExpr && _code[^1].Op == OpCode.Call)
                {
                    // HyperDbg moves a function's result to a temporary only when the value is used.
                    AddWeight(_code.Count - 1, -1);
                }

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
                CurrentLoop(jump.Offset, "break").Breaks.Add(Emit(OpCode.Jump, 0, 0, 0, weight: 1));
                break;
            case ContinueStmt jump:
                LoopLabels innermost = CurrentLoop(jump.Offset, "continue");
                innermost.Continues.Add(Emit(OpCode.Jump, 0, 0, 0, innermost.ContinueWeight));
                break;
            case FunctionDefinedStmt:
                // HyperDbg's main code jumps over the function's body where it is defined.
                Emit(OpCode.Nop, 0, 0, 0, weight: 1);
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

    /// <summary>
    /// A typed local or global. As in HyperDbg 0.23 (script-engine.c, <c>@MOV</c> with a declared type: it sets the type
    /// of the identifier already in the function's table), declaring a name the function already uses — implicitly,
    /// with another type, in a block or a <c>for</c> initialiser — retypes that same variable from here on: a function
    /// has one variable per name and blocks are not scopes. An array or struct takes new storage.
    /// </summary>
    private void EmitDeclaration(DeclStmt declaration)
    {
        CType type = declaration.Type;
        if (declaration.Global)
        {
            EmitGlobalDeclaration(declaration);
            return;
        }

        LocalVariable? existing;
        if (type.IsAggregate)
        {
            existing = _fn.Declare(declaration.Name, type);
            EmitAggregateInitialiser(declaration, existing);
            return;
        }

        // The value first: it reads the variable as it was (HyperDbg evaluates it before the MOV that retypes).
        // HyperDbg counts: MOV, after a CAST_SCALAR when the value's type is not the declared one.
        int count = 1;
        ExprType value = ExprType.Num;
        if (declaration.Init is null)
        {
            Emit(OpCode.PushConst, 0, 0, 1);
        }
        else
        {
            count = HyperTypes.NeedsCast(StaticTypeOf(declaration.Init).Hyper, HyperTypes.Of(type)) ? 2 : 1;
            value = EmitValue(declaration.Init, "the initial value");
            if (type.IsPointer && value == ExprType.Float)
            {
                throw Error(declaration.Init.Offset, $"type error: pointer '{declaration.Name}' cannot hold a float");
            }
        }

        if (_fn.Locals.TryGetValue(declaration.Name, out existing) && !existing.IsAggregate)
        {
            existing.Type = type.Storage;
            existing.Shape = type.Pointers > 0 ? type : null;
            existing.Fixed = true;
        }
        else
        {
            existing = _fn.Declare(declaration.Name, type);
        }

        ConvertTop(value, existing.Type);
        Emit(OpCode.StoreLocal, existing.Slot, 0, -1, count);
    }

    /// <summary><c>int .g = value;</c>: the global keeps the type for the rest of the script (HyperDbg keeps a type per
    /// global name); without a value it is set to 0.</summary>
    private void EmitGlobalDeclaration(DeclStmt declaration)
    {
        CType type = declaration.Type;
        _globalTypes[declaration.Name] = type;
        int count = 1;
        if (declaration.Init is null)
        {
            Emit(OpCode.PushConst, 0, 0, 1);
        }
        else
        {
            count = HyperTypes.NeedsCast(StaticTypeOf(declaration.Init).Hyper, HyperTypes.Of(type)) ? 2 : 1;
            ExprType value = EmitValue(declaration.Init, "the initial value");
            if (type.IsPointer && value == ExprType.Float)
            {
                throw Error(declaration.Init.Offset, $"type error: pointer '.{declaration.Name}' cannot hold a float");
            }

            ConvertTop(value, type.Storage);
        }

        Emit(OpCode.StoreGlobal, GlobalIndex(declaration.Name), 0, -1, count);
    }

    private void EmitIf(IfStmt branch)
    {
        var ends = new List<int>();
        foreach ((Expr condition, IReadOnlyList<Stmt> body) in branch.Branches)
        {
            // HyperDbg: the condition, JZ, the body, JMP to the end (also after the last branch without else).
            EmitCondition(condition);
            int skip = Emit(OpCode.JumpIfZero, 0, 0, -1, weight: 1);
            EmitBody(body, condition.Offset);
            ends.Add(Emit(OpCode.Jump, 0, 0, 0, weight: 1));
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
        // HyperDbg: the condition, JZ, the body, JMP back; continue and break are one JMP.
        int start = _code.Count;
        EmitCondition(loop.Condition);
        int exit = Emit(OpCode.JumpIfZero, 0, 0, -1, weight: 1);
        LoopLabels labels = EmitLoopBody(loop.Body, loop.Offset, continueWeight: 1);
        Emit(OpCode.Jump, start, 0, 0, weight: 1);
        CloseLoop(labels, breakTarget: _code.Count, continueTarget: start);
        Patch(exit, _code.Count);
    }

    private void EmitDoWhile(DoWhileStmt loop)
    {
        // HyperDbg: the body, the condition, JNZ back; continue and break are one JMP.
        int start = _code.Count;
        LoopLabels labels = EmitLoopBody(loop.Body, loop.Offset, continueWeight: 1);
        int condition = _code.Count;
        EmitCondition(loop.Condition);
        Emit(OpCode.JumpIfNotZero, start, 0, -1, weight: 1);
        CloseLoop(labels, breakTarget: _code.Count, continueTarget: condition);
    }

    private void EmitFor(ForStmt loop)
    {
        // HyperDbg lays a for loop out as: init; C: condition; JZ end; JMP B; S: step; JMP C; B: body; JMP S; end. An
        // iteration counts the condition, JZ, JMP, the body, JMP, the step and JMP; continue is the JMP to the step.
        // Here the JMP into the body counts when the condition's jump falls through, and the JMP into the step on the
        // step's first instruction, which both paths into the step (end of body, continue) execute.
        if (loop.Init is not null)
        {
            EmitStatement(loop.Init);
        }

        int start = _code.Count;
        int exit = -1;
        if (loop.Condition is not null)
        {
            EmitCondition(loop.Condition);
            exit = Emit(OpCode.JumpIfZero, 0, 0, -1, weight: 1);
            AddFallThroughWeight(exit, 1);
        }

        LoopLabels labels = EmitLoopBody(loop.Body, loop.Offset, continueWeight: 0);
        int step = _code.Count;
        if (loop.Step is not null)
        {
            EmitStatement(loop.Step);
        }

        if (_code.Count == step)
        {
            Emit(OpCode.Nop, 0, 0, 0, weight: 1);
        }
        else
        {
            AddWeight(step, 1);
        }

        Emit(OpCode.Jump, start, 0, 0, weight: 1);
        CloseLoop(labels, breakTarget: _code.Count, continueTarget: step);
        if (exit >= 0)
        {
            Patch(exit, _code.Count);
        }
    }

    private LoopLabels EmitLoopBody(IReadOnlyList<Stmt> body, int offset, int continueWeight)
    {
        var labels = new LoopLabels { ContinueWeight = continueWeight };
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

            Emit(OpCode.End, 0, 0, 0, weight: 1);
            return;
        }

        // HyperDbg: MOV of the value to the return register, JMP to the epilogue (counted with the call).
        if (_fn.ReturnType == ScalarType.Void)
        {
            if (exit.Value is not null)
            {
                throw Error(exit.Offset, $"void function '{_fn.Name}' cannot return a value");
            }

            Emit(OpCode.PushConst, 0, 0, 1);
            Emit(OpCode.Return, 0, 0, -1, weight: 1);
            return;
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

        Emit(OpCode.Return, 0, 0, -1, weight: 2);
    }
}
