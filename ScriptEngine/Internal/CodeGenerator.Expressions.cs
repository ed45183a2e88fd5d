// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

internal sealed partial class CodeGenerator
{
    /// <summary>An expression whose value is used (assignment, argument, return): a condition becomes 1 or 0.</summary>
    private ExprType EmitValue(Expr expression, string what)
    {
        ExprType type = EmitExpr(expression);
        if (type == ExprType.Void)
        {
            throw Error(expression.Offset, $"{what} comes from a function that returns nothing");
        }

        return type == ExprType.Bool ? ExprType.Num : type;
    }

    /// <summary>A value that must be an integer (addresses, sizes, ids).</summary>
    private void EmitInteger(Expr expression, string what)
    {
        ExprType type = EmitValue(expression, what);
        if (type == ExprType.Float)
        {
            throw Error(expression.Offset, $"type error: {what} must be an integer, not a float");
        }
    }

    /// <summary>The condition of if/elsif/while/for: any number (non-zero = true) or condition.</summary>
    private void EmitCondition(Expr expression) => AsCondition(EmitExpr(expression), expression);

    /// <summary>The value of <paramref name="expression"/>, of type <paramref name="type"/>, is on the stack: makes it a
    /// condition (a float becomes 0/1).</summary>
    private void AsCondition(ExprType type, Expr expression)
    {
        switch (type)
        {
            case ExprType.Void:
                throw Error(expression.Offset, "a condition cannot come from a function that returns nothing");
            case ExprType.Float:
                Emit(OpCode.FloatToBool, 0, 0, 0);
                break;
            default:
                break;
        }
    }

    /// <summary>Emits <paramref name="expression"/> one nesting level deeper (<see cref="ScriptLimits.MaxNesting"/>).</summary>
    private ExprType EmitExpr(Expr expression)
    {
        Descend(expression.Offset);
        _work++;
        try
        {
            return EmitExprAtLevel(expression);
        }
        finally
        {
            Ascend();
        }
    }

    private ExprType EmitExprAtLevel(Expr expression)
    {
        switch (expression)
        {
            case NumberExpr number:
                Emit(OpCode.PushConst, 0, number.Value, 1);
                return number.IsFloat ? ExprType.Float : ExprType.Num;
            case StringExpr literal:
                Emit(OpCode.PushConst, 0, ConstantAddress(literal), 1);
                return ExprType.Num;
            case RegisterExpr register:
                Emit(OpCode.LoadReg, (int)register.Register, 0, 1);
                return ExprType.Num;
            case PseudoExpr pseudo:
                Emit(OpCode.LoadPseudo, (int)pseudo.Pseudo, 0, 1);
                return ExprType.Num;
            case GlobalExpr global:
                Emit(OpCode.LoadGlobal, GlobalIndex(global.Name), 0, 1);
                CType declared = GlobalType(global.Name);
                if (ScalarTypes.NeedsConversion(declared.Storage))
                {
                    // Another script or event may have stored any 64 bits there.
                    Emit(OpCode.Convert, (int)declared.Storage, 0, 0);
                }

                return declared.Storage.IsFloating() ? ExprType.Float : ExprType.Num;
            case LocalExpr local:
                LocalVariable variable = Local(local.Name);
                variable.Fixed = true;
                if (variable.IsAggregate)
                {
                    // An array or struct used as a value is the engine address of its first byte.
                    Emit(OpCode.AddrLocal, variable.Slot, 0, 1);
                    return ExprType.Num;
                }

                Emit(OpCode.LoadLocal, variable.Slot, 0, 1);
                if (variable.AddressTaken && ScalarTypes.NeedsConversion(variable.Type))
                {
                    Emit(OpCode.Convert, (int)variable.Type, 0, 0);
                }

                return variable.IsFloat ? ExprType.Float : ExprType.Num;
            case IndexExpr index:
                // HyperDbg: MOV, MUL, ADD, ADD and TYPED_LOAD (then a cast when the element is narrower).
                return EmitLoadMem(EmitElementAddress(index), index.Offset, count: 5);
            case MemberExpr member:
                return EmitLoadMem(EmitMemberAddress(member), member.Offset);
            case SizeofExpr size:
                Emit(OpCode.PushConst, 0, (ulong)SizeOf(size.Operand), 1);
                return ExprType.Num;
            case UnaryExpr unary:
                return EmitUnary(unary);
            case BinaryExpr binary:
                return EmitBinary(binary);
            case CastExpr cast:
                return EmitCast(cast);
            case CallExpr call:
                return EmitCall(call);
            default:
                throw Error(expression.Offset, "unhandled expression");
        }
    }

    private ExprType EmitCast(CastExpr cast)
    {
        if (cast.Type == CType.Of(ScalarType.Void))
        {
            throw Error(cast.Offset, "type error: cannot cast to void");
        }

        ExprType type = EmitValue(cast.Operand, "the cast operand");

        // HyperDbg: one CAST_SCALAR for every cast.
        Emit(OpCode.Nop, 0, 0, 0, weight: 1);
        if (cast.Type.IsAggregate)
        {
            throw Error(cast.Offset, $"type error: cannot cast to '{cast.Type}'; cast to a pointer ('{cast.Type} *')");
        }

        if (cast.Type.IsPointer && type == ExprType.Float)
        {
            throw Error(cast.Offset, $"type error: cannot cast a float to the pointer type '{cast.Type}'");
        }

        ConvertTop(type, cast.Type.Storage);
        return cast.Type.Storage.IsFloating() ? ExprType.Float : ExprType.Num;
    }

    private ExprType EmitUnary(UnaryExpr unary)
    {
        switch (unary.Op)
        {
            case "&":
                return EmitAddressOf(unary.Operand, unary.Offset, "&");
            case "!":
                EmitCondition(unary.Operand);
                Emit(OpCode.LogicalNot, 0, 0, 0);
                return ExprType.Bool;
            default:
                break;
        }

        if (unary.Op == "*")
        {
            return EmitLoadMem(EmitDereferenceAddress(unary), unary.Offset);
        }

        ExprType type = EmitExpr(unary.Operand);
        RequireArithmetic(type, unary.Op, unary.Offset, "its operand");
        switch (unary.Op)
        {
            case "+":
                return type;
            case "-":
                Emit(type == ExprType.Float ? OpCode.FNeg : OpCode.Neg, 0, 0, 0);
                return type;
            default:
                RequireInteger(type, "~", unary.Offset);
                Emit(OpCode.Not, 0, 0, 0);
                return ExprType.Num;
        }
    }

    private ExprType EmitAddressOf(Expr operand, int offset, string what)
    {
        switch (operand)
        {
            case LocalExpr local:
                LocalVariable variable = Local(local.Name);
                if (variable.Type == ScalarType.Float && variable.Shape is null)
                {
                    // A float local is held as a double; a 'float *' would read 4 bytes of it.
                    throw Error(offset, $"type error: '{what}' cannot take the address of float '{local.Name}' (held as a double); declare it double");
                }

                variable.Fixed = true;

                // HyperDbg: one REFERENCE.
                Emit(OpCode.AddrLocal, variable.Slot, 0, 1, weight: 1);
                return ExprType.Num;
            case GlobalExpr global:
                Emit(OpCode.AddrGlobal, GlobalIndex(global.Name), 0, 1, weight: 1);
                return ExprType.Num;
            case IndexExpr index:
                EmitElementAddress(index);
                return ExprType.Num;
            case MemberExpr member:
                EmitMemberAddress(member);
                return ExprType.Num;
            case UnaryExpr { Op: "*" } dereference:
                EmitDereferenceAddress(dereference);
                return ExprType.Num;
            default:
                throw Error(offset, $"type error: '{what}' needs a variable, a global, '*pointer' or 'name[index]' (registers and values have no address)");
        }
    }

    /// <summary>A binary operator and the chain down its left side (<c>1+1+...+1</c>, left-associative), in a loop: the
    /// leftmost operand first, then each operator with its right operand, so a chain of any length needs one level of
    /// the host's stack (<see cref="Expr.Height"/>).</summary>
    private ExprType EmitBinary(BinaryExpr binary)
    {
        var chain = new List<BinaryExpr>();
        Expr first = binary;
        while (first is BinaryExpr link)
        {
            chain.Add(link);
            first = link.Left;
        }

        ExprType left = EmitExpr(first);
        for (int i = chain.Count - 1; i >= 0; i--)
        {
            left = EmitBinaryOperator(chain[i], left);
        }

        return left;
    }

    /// <summary>The left operand of <paramref name="binary"/> (of type <paramref name="left"/>) is on the stack: emits the
    /// right operand and the operator.</summary>
    private ExprType EmitBinaryOperator(BinaryExpr binary, ExprType left)
    {
        if (binary.Op is "&&" or "||")
        {
            // Short-circuit (spec 6.5): the result is 1 or 0.
            // HyperDbg counts: the left side, LOGICAL_NOT twice, MOV and the jump; the right side (when evaluated),
            // LOGICAL_NOT twice and the jump; and one MOV of the result when the right side decides it.
            bool and = binary.Op == "&&";
            AsCondition(left, binary.Left);
            int shortcut = Emit(and ? OpCode.JumpIfZero : OpCode.JumpIfNotZero, 0, 0, -1, weight: 4);
            EmitCondition(binary.Right);
            int other = Emit(and ? OpCode.JumpIfZero : OpCode.JumpIfNotZero, 0, 0, -1, weight: 3);
            Emit(OpCode.PushConst, 0, and ? 1UL : 0UL, 1, weight: 1);
            int end = Emit(OpCode.Jump, 0, 0, 0);
            Patch(shortcut, _code.Count);
            Patch(other, _code.Count);
            Emit(OpCode.PushConst, 0, and ? 0UL : 1UL, 0);
            Patch(end, _code.Count);
            return ExprType.Bool;
        }

        if (left == ExprType.Void)
        {
            throw Error(binary.Left.Offset, $"the left side of '{binary.Op}' comes from a function that returns nothing");
        }

        StaticType leftType = StaticTypeOf(binary.Left);
        return EmitBinaryOperands(binary.Op, left, leftType.CType.Decay(), leftType.Hyper, binary.Right, binary.Offset);
    }
}
