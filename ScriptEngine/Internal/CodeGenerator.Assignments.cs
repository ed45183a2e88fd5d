// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

internal sealed partial class CodeGenerator
{
    private void EmitAssign(AssignStmt assign)
    {
        if (assign.Op != "=")
        {
            EmitCompound(assign.Targets[0], assign.Op, assign.Value, assign.Offset);
            return;
        }

        if (assign.Targets.Count == 1 && assign.Targets[0] is not UnaryExpr)
        {
            ExprType type = EmitValue(assign.Value, "the assigned value");
            EmitStore(assign.Targets[0], type);
            return;
        }

        if (assign.Targets.Count == 1 && assign.Targets[0] is UnaryExpr single)
        {
            // *address = value: address first, then the value (StoreMem pops both).
            EmitInteger(single.Operand, "the address of '*'");
            ConvertTop(EmitValue(assign.Value, "the assigned value"), ScalarType.Untyped);
            Emit(OpCode.StoreMem, 0, 0, -2);
            return;
        }

        // Chained: a = b = value assigns right to left through a hidden slot.
        ExprType valueType = EmitValue(assign.Value, "the assigned value");
        LocalVariable temp = _fn.Temporary();
        temp.Type = valueType == ExprType.Float ? ScalarType.Double : ScalarType.Untyped;
        Emit(OpCode.StoreLocal, temp.Slot, 0, -1);
        for (int i = assign.Targets.Count - 1; i >= 0; i--)
        {
            Expr target = assign.Targets[i];
            if (target is UnaryExpr memory)
            {
                EmitInteger(memory.Operand, "the address of '*'");
                Emit(OpCode.LoadLocal, temp.Slot, 0, 1);
                ConvertTop(valueType, ScalarType.Untyped);
                Emit(OpCode.StoreMem, 0, 0, -2);
            }
            else
            {
                Emit(OpCode.LoadLocal, temp.Slot, 0, 1);
                EmitStore(target, valueType);
            }
        }
    }

    /// <summary><c>target op= value</c>, <c>target++</c> and <c>target--</c>.</summary>
    private void EmitCompound(Expr target, string op, Expr value, int offset)
    {
        if (target is UnaryExpr memory)
        {
            LocalVariable address = _fn.Temporary();
            EmitInteger(memory.Operand, "the address of '*'");
            Emit(OpCode.StoreLocal, address.Slot, 0, -1);
            Emit(OpCode.LoadLocal, address.Slot, 0, 1);
            Emit(OpCode.LoadLocal, address.Slot, 0, 1);
            Emit(OpCode.Builtin, (int)BuiltinId.Poi, 1, 0);
            ExprType memoryResult = EmitBinaryOperands(op, ExprType.Num, null, value, offset);
            ConvertTop(memoryResult, ScalarType.Untyped);
            Emit(OpCode.StoreMem, 0, 0, -2);
            return;
        }

        ExprType targetType = EmitExpr(target);
        ExprType result = EmitBinaryOperands(op, targetType, null, value, offset);
        EmitStore(target, result);
    }

    /// <summary>Pops the value on top of the stack (of type <paramref name="type"/>) into a variable or register.</summary>
    private void EmitStore(Expr target, ExprType type)
    {
        switch (target)
        {
            case LocalExpr local:
                LocalVariable variable = Local(local.Name);
                if (!variable.Fixed)
                {
                    variable.Type = type == ExprType.Float ? ScalarType.Double : ScalarType.Untyped;
                    variable.Fixed = true;
                }

                ConvertTop(type, variable.Type);
                Emit(OpCode.StoreLocal, variable.Slot, 0, -1);
                break;
            case GlobalExpr global:
                ConvertTop(type, ScalarType.Untyped);
                Emit(OpCode.StoreGlobal, GlobalIndex(global.Name), 0, -1);
                break;
            case RegisterExpr register:
                ConvertTop(type, ScalarType.Untyped);
                Emit(OpCode.StoreReg, (int)register.Register, 0, -1);
                break;
            default:
                throw Error(target.Offset, "cannot assign to this expression");
        }
    }

    /// <summary>Converts the top of the stack from <paramref name="from"/> to a variable of type <paramref name="to"/>.</summary>
    private void ConvertTop(ExprType from, ScalarType to)
    {
        if (to.IsFloating())
        {
            if (from != ExprType.Float)
            {
                Emit(OpCode.IntToFloat, 0, 0, 0);
            }

            return;
        }

        if (from == ExprType.Float)
        {
            Emit(OpCode.FloatToInt, 0, 0, 0);
        }

        if (ScalarTypes.NeedsConversion(to))
        {
            Emit(OpCode.Convert, (int)to, 0, 0);
        }
    }

    private LocalVariable Local(string name) => _fn.Locals.TryGetValue(name, out LocalVariable? local) ? local : _fn.Declare(name, ScalarType.Untyped);
}
