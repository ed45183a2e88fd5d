// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

internal sealed partial class CodeGenerator
{
    /// <summary>The left operand (of type <paramref name="left"/>) is on the stack; emits the right one and the operator,
    /// applying the type rules of docs/script-language.md.</summary>
    private ExprType EmitBinaryOperands(string op, ExprType left, CType leftC, Expr right, int offset)
    {
        ExprType rightType = TypeOf(right);
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

                return EmitArithmetic(op, left, right, rightType, offset, compare: true);
            case ">" or "<" or ">=" or "<=":
                RequireArithmetic(left, op, offset, "its left side");
                RequireArithmetic(rightType, op, offset, "its right side");
                return EmitArithmetic(op, left, right, rightType, offset, compare: true);
            case "+" or "-" or "*" or "/":
                RequireArithmetic(left, op, offset, "its left side");
                RequireArithmetic(rightType, op, offset, "its right side");
                return EmitArithmetic(op, left, right, rightType, offset, compare: false);
            case "&" or "|" or "^" when left == ExprType.Bool || rightType == ExprType.Bool:
                if (left != rightType)
                {
                    throw Error(offset, $"type error: '{op}' mixes a condition (true/false) with a number; use '{op}{op}' for conditions or compare the number first");
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
                    "%" => OpCode.ModU,
                    "&" => OpCode.And,
                    "|" => OpCode.Or,
                    "^" => OpCode.Xor,
                    "<<" => OpCode.Shl,
                    ">>" => OpCode.Shr,
                    _ => throw Error(offset, $"unknown operator '{op}'"),
                };
                Emit(code, 0, 0, -1);
                return ExprType.Num;
        }
    }

    /// <summary>+ - * / and comparisons: float when either side is a float (the other is converted), else 64-bit
    /// integers with unsigned division and signed comparisons (spec 6.5).</summary>
    private ExprType EmitArithmetic(string op, ExprType left, Expr right, ExprType rightType, int offset, bool compare)
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
            ("/", false) => OpCode.DivU,
            ("+", true) => OpCode.FAdd,
            ("-", true) => OpCode.FSub,
            ("*", true) => OpCode.FMul,
            ("/", true) => OpCode.FDiv,
            ("==", false) => OpCode.CmpEq,
            ("!=", false) => OpCode.CmpNe,
            ("<", false) => OpCode.CmpLt,
            (">", false) => OpCode.CmpGt,
            ("<=", false) => OpCode.CmpLe,
            (">=", false) => OpCode.CmpGe,
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
