// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

internal sealed partial class CodeGenerator
{
    /// <summary>The left operand (of type <paramref name="left"/>) is on the stack; emits the right one and the operator,
    /// applying the type rules of docs/script-language.md. <paramref name="leftHyper"/> is the left operand's type in
    /// HyperDbg (it decides, with the right's, whether / % >> and comparisons are signed: C's usual conversions).</summary>
    private ExprType EmitBinaryOperands(string op, ExprType left, CType leftC, HyperType leftHyper, Expr right, int offset)
    {
        ExprType rightType = TypeOf(right);
        HyperType common = HyperTypes.Common(leftHyper, StaticTypeOf(right).Hyper);
        bool signed = HyperTypes.IsSigned(common);
        if (rightType == ExprType.Void)
        {
            throw Error(right.Offset, $"the right side of '{op}' comes from a function that returns nothing");
        }

        if (op is "+" or "-" && (leftC.IsPointer || CTypeOf(right).Decay().IsPointer))
        {
            return EmitPointerArithmetic(op, left, leftC, right, rightType, offset);
        }

        switch (op)
        {
            case "==" or "!=":
                if ((left == ExprType.Bool) != (rightType == ExprType.Bool))
                {
                    throw Error(offset, $"type error: '{op}' compares a condition (true/false) with a number; compare two numbers or two conditions");
                }

                return EmitArithmetic(op, left, right, rightType, offset, compare: true, signed);
            case ">" or "<" or ">=" or "<=":
                RequireArithmetic(left, op, offset, "its left side");
                RequireArithmetic(rightType, op, offset, "its right side");
                return EmitArithmetic(op, left, right, rightType, offset, compare: true, signed);
            case "+" or "-" or "*" or "/":
                RequireArithmetic(left, op, offset, "its left side");
                RequireArithmetic(rightType, op, offset, "its right side");
                return EmitArithmetic(op, left, right, rightType, offset, compare: false, signed);
            case "&" or "|" or "^" when left == ExprType.Bool || rightType == ExprType.Bool:
                if (left != rightType)
                {
                    throw Error(offset, $"type error: '{op}' mixes a condition (true/false) with a number; use {(op == "^" ? "'!='" : $"'{op}{op}'")} for conditions or compare the number first");
                }

                EmitExpr(right);
                Emit(op == "&" ? OpCode.And : op == "|" ? OpCode.Or : OpCode.Xor, 0, 0, -1);
                return ExprType.Bool;
            default:
                // % & | ^ << >>: integers only.
                RequireArithmetic(left, op, offset, "its left side");
                RequireArithmetic(rightType, op, offset, "its right side");
                RequireInteger(left, op, offset);
                RequireInteger(rightType, op, offset);
                EmitExpr(right);
                OpCode code = op switch
                {
                    "%" => signed ? OpCode.ModS : OpCode.ModU,
                    "&" => OpCode.And,
                    "|" => OpCode.Or,
                    "^" => OpCode.Xor,
                    "<<" => OpCode.Shl,
                    ">>" => signed ? OpCode.Sar : OpCode.Shr,
                    _ => throw Error(offset, $"unknown operator '{op}'"),
                };

                // A shift's A is the operation's width: HyperDbg refuses a count of the width or more.
                Emit(code, op is "<<" or ">>" ? HyperTypes.Width(common) : 0, 0, -1);
                return ExprType.Num;
        }
    }

    /// <summary>+ - * / and comparisons: float when either side is a float (the other is converted), else 64-bit
    /// integers, with division and comparisons signed when C's usual conversions give a signed type (HyperDbg 0.23:
    /// literals and registers are signed, undeclared variables unsigned).</summary>
    private ExprType EmitArithmetic(string op, ExprType left, Expr right, ExprType rightType, int offset, bool compare, bool signed)
    {
        bool floating = left == ExprType.Float || rightType == ExprType.Float;
        if (floating && left != ExprType.Float)
        {
            Emit(OpCode.IntToFloat, 0, 0, 0);
        }

        EmitExpr(right);
        if (floating && rightType != ExprType.Float)
        {
            Emit(OpCode.IntToFloat, 0, 0, 0);
        }

        OpCode code = (op, floating) switch
        {
            ("+", false) => OpCode.Add,
            ("-", false) => OpCode.Sub,
            ("*", false) => OpCode.Mul,
            ("/", false) => signed ? OpCode.DivS : OpCode.DivU,
            ("+", true) => OpCode.FAdd,
            ("-", true) => OpCode.FSub,
            ("*", true) => OpCode.FMul,
            ("/", true) => OpCode.FDiv,
            ("==", false) => OpCode.CmpEq,
            ("!=", false) => OpCode.CmpNe,
            ("<", false) => signed ? OpCode.CmpLt : OpCode.CmpLtU,
            (">", false) => signed ? OpCode.CmpGt : OpCode.CmpGtU,
            ("<=", false) => signed ? OpCode.CmpLe : OpCode.CmpLeU,
            (">=", false) => signed ? OpCode.CmpGe : OpCode.CmpGeU,
            ("==", true) => OpCode.FCmpEq,
            ("!=", true) => OpCode.FCmpNe,
            ("<", true) => OpCode.FCmpLt,
            (">", true) => OpCode.FCmpGt,
            ("<=", true) => OpCode.FCmpLe,
            (">=", true) => OpCode.FCmpGe,
            _ => throw Error(offset, $"unknown operator '{op}'"),
        };
        Emit(code, 0, 0, -1);
        return compare ? ExprType.Bool : floating ? ExprType.Float : ExprType.Num;
    }

    private void RequireArithmetic(ExprType type, string op, int offset, string side)
    {
        if (type == ExprType.Bool)
        {
            throw Error(offset, $"type error: '{op}' needs a number, but {side} is a condition (true/false); conditions only combine with && || ! and == !=");
        }

        if (type == ExprType.Void)
        {
            throw Error(offset, $"type error: {side} of '{op}' comes from a function that returns nothing");
        }
    }

    private void RequireInteger(ExprType type, string op, int offset)
    {
        if (type == ExprType.Float)
        {
            throw Error(offset, $"type error: '{op}' needs integers, not floats");
        }
    }

    private ExprType TypeOfCall(CallExpr call)
    {
        if (BuiltinTable.TryGet(call.Name, out Builtin builtin))
        {
            return builtin.ReturnsValue ? ExprType.Num : ExprType.Void;
        }

        if (_functions.TryGetValue(call.Name, out (int Index, FunctionDef Definition) function))
        {
            ScalarType type = function.Definition.ReturnType;
            return type == ScalarType.Void ? ExprType.Void : type.IsFloating() ? ExprType.Float : ExprType.Num;
        }

        return ExprType.Num;
    }
}
