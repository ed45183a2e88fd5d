// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

internal sealed partial class CodeGenerator
{
    private void EmitAssign(AssignStmt assign)
    {
        if (assign.Op != "=")
        {
            EmitCompound(assign.Targets[0], assign.Op, assign.Value, assign.Offset, incDec: false);
            return;
        }

        if (assign.Targets.Count == 1 && !IsMemoryTarget(assign.Targets[0]))
        {
            // HyperDbg: MOV, after a CAST_SCALAR when the value's type is not the variable's.
            Expr target = assign.Targets[0];
            int count = HyperTypes.NeedsCast(StaticTypeOf(assign.Value).Hyper, TargetHyperType(target)) ? 2 : 1;
            ExprType type = EmitValue(assign.Value, "the assigned value");
            EmitStore(target, type, count);
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
        // HyperDbg: one MOV per variable, no cast.
        ExprType valueType = EmitValue(assign.Value, "the assigned value");
        LocalVariable temp = _fn.Temporary();
        temp.Type = valueType == ExprType.Float ? ScalarType.Double : ScalarType.Untyped;
        Emit(OpCode.StoreLocal, temp.Slot, 0, -1, weight: 0);
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
                EmitStore(target, valueType, count: 1);
            }
        }
    }

    private static bool IsMemoryTarget(Expr target) => target is UnaryExpr { Op: "*" } or IndexExpr or MemberExpr;

    /// <summary>HyperDbg's type of an assigned variable: its declared type, or an implicit unsigned 64-bit one; a
    /// register is a <c>long</c> like a literal.</summary>
    private HyperType TargetHyperType(Expr target) => target switch
    {
        RegisterExpr => HyperType.I64,
        GlobalExpr global => HyperTypes.Of(GlobalType(global.Name)),
        LocalExpr local when _fn.Locals.TryGetValue(local.Name, out LocalVariable? variable) => variable.IsParameter ? HyperType.Unknown : HyperTypes.Of(variable.CType),
        _ => HyperType.U64,
    };

    /// <summary>Pushes the address of <c>*p</c> or <c>a[i]</c> and returns the type stored there.</summary>
    private CType EmitMemoryTargetAddress(Expr target) => target switch
    {
        IndexExpr index => EmitElementAddress(index),
        MemberExpr member => EmitMemberAddress(member),
        _ => EmitDereferenceAddress((UnaryExpr)target),
    };

    /// <summary><c>target op= value</c> (HyperDbg: the operator, CAST_SCALAR, MOV), <c>target++</c> and
    /// <c>target--</c> (HyperDbg: one INC or DEC).</summary>
    private void EmitCompound(Expr target, string op, Expr value, int offset, bool incDec)
    {
        if (IsMemoryTarget(target))
        {
            LocalVariable address = _fn.Temporary();
            CType pointee = EmitMemoryTargetAddress(target);
            Emit(OpCode.StoreLocal, address.Slot, 0, -1);
            Emit(OpCode.LoadLocal, address.Slot, 0, 1);
            Emit(OpCode.LoadLocal, address.Slot, 0, 1);
            ExprType loaded = EmitLoadMem(pointee, target.Offset, count: 0);
            ExprType memoryResult = EmitBinaryOperands(op, loaded, pointee.Decay(), pointee == CType.Untyped ? HyperType.U64 : HyperTypes.Of(pointee), value, offset);
            EmitStoreMem(pointee, memoryResult, target.Offset, count: incDec ? 0 : 2);
            return;
        }

        ExprType targetType = EmitExpr(target);
        ExprType result = EmitBinaryOperands(op, targetType, CTypeOf(target).Decay(), StaticTypeOf(target).Hyper, value, offset);
        EmitStore(target, result, count: incDec ? 0 : 2);
    }

    /// <summary>Pops the value on top of the stack (of type <paramref name="type"/>) into a variable or register; the
    /// store counts <paramref name="count"/> HyperDbg instructions.</summary>
    private void EmitStore(Expr target, ExprType type, int count)
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
                Emit(OpCode.StoreLocal, variable.Slot, 0, -1, count);
                break;
            case GlobalExpr global:
                ConvertTop(type, GlobalType(global.Name).Storage);
                Emit(OpCode.StoreGlobal, GlobalIndex(global.Name), 0, -1, count);
                break;
            case RegisterExpr register:
                if (register.Bare)
                {
                    string name = RegisterTable.Name(register.Register);
                    Warn(register.Offset, $"'{name}' is the guest register @{name}, so this writes the register (a bare register name is the register, as in HyperDbg); write @{name} to say so, or give the variable another name");
                }

                ConvertTop(type, ScalarType.Untyped);
                Emit(OpCode.StoreReg, (int)register.Register, 0, -1, count);
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

    /// <summary>A global's declared type in this script, or untyped (HyperDbg's implicit unsigned 64-bit).</summary>
    private CType GlobalType(string name) => _globalTypes.TryGetValue(name, out CType? type) ? type : CType.Untyped;

    private LocalVariable Local(string name) => _fn.Locals.TryGetValue(name, out LocalVariable? local) ? local : _fn.Declare(name, ScalarType.Untyped);
}
