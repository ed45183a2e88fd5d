// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

/// <summary>
/// How HyperDbg counts a run: its compiler (script-engine.c, <c>CodeGen</c>) emits three-address instructions whose
/// operands are constants, registers, variables and temporaries, and its evaluator's loop (hyperkd Debugger.c,
/// <c>DebuggerPerformRunScript</c>; the same loop in libhyperdbg for <c>?</c>) counts every executed instruction against
/// <c>MAX_EXECUTION_COUNT</c> (1,000,000; Constants.h). Our stack machine pushes operands with instructions of their
/// own, so each instruction carries the number of HyperDbg instructions it stands for (<see cref="Instruction.Weight"/>):
/// operators, built-ins and jumps count; operand pushes do not. The rules of each statement are in
/// docs/script-language.md ("Runtime limits"); the code generator applies them.
/// </summary>
internal static class Counting
{
    /// <summary>Passed as a weight: use the opcode's usual count.</summary>
    public const int Default = -1;

    /// <summary>HyperDbg's first instruction of every run: the <c>ADD</c> that reserves the stack frame.</summary>
    public const int ProgramStart = 1;

    /// <summary>A call of a user function besides its arguments' <c>PUSH</c>es: <c>CALL</c>, the callee's prologue
    /// (<c>PUSH MOV ADD</c>) and epilogue (<c>MOV POP RET</c>), and the caller's <c>SUB</c>.</summary>
    public const int Call = 8;

    /// <summary>The count of <paramref name="op"/> (<paramref name="weight"/> when given), between 0 and 255.</summary>
    public static byte Weight(OpCode op, int weight) =>
        (byte)Math.Clamp(weight == Default ? DefaultWeight(op) : weight, 0, byte.MaxValue);

    /// <summary>One for an operator, a built-in call, <c>printf</c> or a typed memory read; zero for operand pushes,
    /// stores, conversions and jumps (a statement gives those their count, as HyperDbg's code for it has them).</summary>
    public static int DefaultWeight(OpCode op) => op switch
    {
        OpCode.Add or OpCode.Sub or OpCode.Mul or OpCode.DivU or OpCode.ModU or OpCode.DivS or OpCode.ModS or OpCode.And
            or OpCode.Or or OpCode.Xor or OpCode.Shl or OpCode.Shr or OpCode.Sar or OpCode.Neg or OpCode.Not or OpCode.LogicalNot => 1,
        OpCode.CmpEq or OpCode.CmpNe or OpCode.CmpLt or OpCode.CmpGt or OpCode.CmpLe or OpCode.CmpGe => 1,
        OpCode.CmpLtU or OpCode.CmpGtU or OpCode.CmpLeU or OpCode.CmpGeU => 1,
        OpCode.FAdd or OpCode.FSub or OpCode.FMul or OpCode.FDiv or OpCode.FNeg => 1,
        OpCode.FCmpEq or OpCode.FCmpNe or OpCode.FCmpLt or OpCode.FCmpGt or OpCode.FCmpLe or OpCode.FCmpGe => 1,
        OpCode.Builtin or OpCode.Printf or OpCode.LoadMem => 1,
        _ => 0,
    };
}

/// <summary>
/// HyperDbg's scalar type ids (<c>SCRIPT_SCALAR_TYPE_*</c>, ScriptEngineCommonDefinitions.h), which decide whether its
/// compiler puts a <c>CAST_SCALAR</c> before the <c>MOV</c> of an assignment (script-engine.c, <c>@MOV</c>: a cast when
/// the value's type id differs from the variable's). Literals, registers and pseudo-registers are <c>long</c> (signed
/// 64-bit, common.c <c>NewToken</c>); an implicit variable is <c>unsigned long long</c> (type.c
/// <c>GetDefaultImplicitVariableType</c>); operators follow C's usual arithmetic conversions.
/// </summary>
internal enum HyperType : byte
{
    /// <summary>No type: a function parameter (its symbol carries none), and what is computed from one. An
    /// assignment from or to it has no cast.</summary>
    Unknown = 0,
    Bool = 1,
    I8 = 2,
    I16 = 3,
    I32 = 4,
    I64 = 5,
    U8 = 6,
    U16 = 7,
    U32 = 8,
    U64 = 9,
    F32 = 10,
    F64 = 11,
    Pointer = 12,
}

internal static class HyperTypes
{
    /// <summary>The type id of a value of C type <paramref name="type"/>; an untyped variable is implicit (U64).</summary>
    public static HyperType Of(CType type)
    {
        if (type.IsAggregate || type.Pointers > 0)
        {
            return HyperType.Pointer;
        }

        return type.Scalar switch
        {
            ScalarType.Bool => HyperType.Bool,
            ScalarType.Char => HyperType.I8,
            ScalarType.UChar => HyperType.U8,
            ScalarType.Short => HyperType.I16,
            ScalarType.UShort => HyperType.U16,
            ScalarType.Int => HyperType.I32,
            ScalarType.UInt => HyperType.U32,
            ScalarType.Long => HyperType.I64,
            ScalarType.Float => HyperType.F32,
            ScalarType.Double => HyperType.F64,
            _ => HyperType.U64,
        };
    }

    /// <summary>Whether HyperDbg casts a value of type <paramref name="value"/> stored into <paramref name="target"/>.</summary>
    public static bool NeedsCast(HyperType value, HyperType target) =>
        value != HyperType.Unknown && target != HyperType.Unknown && value != target;

    /// <summary>Signed after C's usual conversions (so / % >> and comparisons are signed).</summary>
    public static bool IsSigned(HyperType type) => type is HyperType.I32 or HyperType.I64 or HyperType.I8 or HyperType.I16 or HyperType.Bool;

    /// <summary>Bits of an integer operation of type <paramref name="type"/> (32 for <c>int</c>, else 64).</summary>
    public static int Width(HyperType type) => type is HyperType.I32 or HyperType.U32 ? 32 : 64;

    /// <summary>C's integer promotion: narrower than <c>int</c> becomes <c>int</c>.</summary>
    public static HyperType Promote(HyperType type) =>
        type is HyperType.Bool or HyperType.I8 or HyperType.I16 or HyperType.U8 or HyperType.U16 ? HyperType.I32 : type;

    /// <summary>C's usual arithmetic conversions of two operands.</summary>
    public static HyperType Common(HyperType left, HyperType right)
    {
        if (left == HyperType.Unknown || right == HyperType.Unknown)
        {
            return HyperType.Unknown;
        }

        if (left == HyperType.Pointer || right == HyperType.Pointer)
        {
            return HyperType.Pointer;
        }

        if (left == HyperType.F64 || right == HyperType.F64)
        {
            return HyperType.F64;
        }

        if (left == HyperType.F32 || right == HyperType.F32)
        {
            return HyperType.F32;
        }

        left = Promote(left);
        right = Promote(right);
        if (left == right)
        {
            return left;
        }

        bool leftUnsigned = left is HyperType.U32 or HyperType.U64;
        bool rightUnsigned = right is HyperType.U32 or HyperType.U64;
        int leftRank = left is HyperType.I64 or HyperType.U64 ? 2 : 1;
        int rightRank = right is HyperType.I64 or HyperType.U64 ? 2 : 1;
        if (leftUnsigned == rightUnsigned)
        {
            return leftRank >= rightRank ? left : right;
        }

        (HyperType unsigned, int unsignedRank, HyperType signed, int signedRank) = leftUnsigned
            ? (left, leftRank, right, rightRank)
            : (right, rightRank, left, leftRank);
        return unsignedRank >= signedRank ? unsigned : signed;
    }
}
