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

        if (assign.Targets.Count == 1 && !IsMemoryTarget(assign.Targets[0]))
        {
            ExprType type = EmitValue(assign.Value, "the assigned value");
            EmitStore(assign.Targets[0], type);
            return;
        }

        if (assign.Targets.Count == 1)
        {
            // *address = value, p[i] = value: address first, then the value (StoreMem pops both).
            CType pointee = EmitMemoryTargetAddress(assign.Targets[0]);
            EmitStoreMem(pointee, EmitValue(assign.Value, "the assigned value"), assign.Targets[0].Offset);
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
            if (IsMemoryTarget(target))
            {
                CType pointee = EmitMemoryTargetAddress(target);
                Emit(OpCode.LoadLocal, temp.Slot, 0, 1);
                EmitStoreMem(pointee, valueType, target.Offset);
            }
            else
            {
                Emit(OpCode.LoadLocal, temp.Slot, 0, 1);
                EmitStore(target, valueType);
            }
        }
    }

    private static bool IsMemoryTarget(Expr target) => target is UnaryExpr { Op: "*" } or IndexExpr or MemberExpr;

    /// <summary>Pushes the address of <c>*p</c> or <c>a[i]</c> and returns the type stored there.</summary>
    private CType EmitMemoryTargetAddress(Expr target) => target switch
    {
        IndexExpr index => EmitElementAddress(index),
        MemberExpr member => EmitMemberAddress(member),
        _ => EmitDereferenceAddress((UnaryExpr)target),
    };

    /// <summary><c>target op= value</c>, <c>target++</c> and <c>target--</c>.</summary>
    private void EmitCompound(Expr target, string op, Expr value, int offset)
    {
        if (IsMemoryTarget(target))
        {
            LocalVariable address = _fn.Temporary();
            CType pointee = EmitMemoryTargetAddress(target);
            Emit(OpCode.StoreLocal, address.Slot, 0, -1);
            Emit(OpCode.LoadLocal, address.Slot, 0, 1);
            Emit(OpCode.LoadLocal, address.Slot, 0, 1);
            ExprType loaded = EmitLoadMem(pointee, target.Offset);
            ExprType memoryResult = EmitBinaryOperands(op, loaded, pointee.Decay(), value, offset);
            EmitStoreMem(pointee, memoryResult, target.Offset);
            return;
        }

        ExprType targetType = EmitExpr(target);
        ExprType result = EmitBinaryOperands(op, targetType, CTypeOf(target).Decay(), value, offset);
        EmitStore(target, result);
    }

    /// <summary>Pops the value on top of the stack (of type <paramref name="type"/>) into a variable or register.</summary>
    private void EmitStore(Expr target, ExprType type)
    {
        switch (target)
        {
            case LocalExpr local:
                LocalVariable variable = Local(local.Name);
                if (variable.IsAggregate)
                {
                    throw Error(target.Offset, variable.IsArray
                        ? $"type error: cannot assign to array '{local.Name}'; assign its elements ({local.Name}[i] = ...)"
                        : $"type error: cannot assign to struct '{local.Name}'; assign its members or copy it with memcpy");
                }

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
                if (register.Bare)
                {
                    string name = RegisterTable.Name(register.Register);
                    Warn(register.Offset, $"'{name}' is the guest register @{name}, so this writes the register (a bare register name is the register, as in HyperDbg); write @{name} to say so, or give the variable another name");
                }

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
