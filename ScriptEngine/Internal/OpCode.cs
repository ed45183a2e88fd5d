// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.InteropServices;

namespace HyperDbgRemote.Script.Internal;

/// <summary>Operations of the stack machine (operands on a stack of 64-bit cells). A = small operand, B = constant.</summary>
internal enum OpCode : byte
{
    End,
    PushConst,
    Pop,
    Dup,
    LoadLocal,
    StoreLocal,
    LoadGlobal,
    StoreGlobal,
    LoadReg,
    StoreReg,
    LoadPseudo,
    AddrLocal,
    AddrGlobal,
    Add,
    Sub,
    Mul,
    DivU,
    ModU,
    And,
    Or,
    Xor,
    Shl,
    Shr,
    Neg,
    Not,
    LogicalNot,
    CmpEq,
    CmpNe,
    CmpLt,
    CmpGt,
    CmpLe,
    CmpGe,
    FAdd,
    FSub,
    FMul,
    FDiv,
    FNeg,
    FCmpEq,
    FCmpNe,
    FCmpLt,
    FCmpGt,
    FCmpLe,
    FCmpGe,
    IntToFloat,
    FloatToInt,
    FloatToBool,
    Convert,
    /// <summary>Pops value and address; writes A bytes (8 when A is 0); B = 1 stores a double as a 4-byte float.</summary>
    StoreMem,
    Jump,
    JumpIfZero,
    JumpIfNotZero,
    Call,
    Return,
    Builtin,
    Printf,

    /// <summary>Reads B (1, 2, 4, 8) bytes at the popped address and converts them as <see cref="ScalarType"/> A.</summary>
    LoadMem,

    /// <summary>Fails the run unless the top of the stack is below B (array A of <see cref="ScriptProgramImage.ArrayNames"/>).</summary>
    CheckIndex,

    /// <summary>Zeroes B frame slots from slot A (an array declaration).</summary>
    ZeroLocals,

    /// <summary>Signed 64-bit division (signed operands; pointer differences).</summary>
    DivS,

    /// <summary>Signed 64-bit remainder.</summary>
    ModS,

    /// <summary>Arithmetic shift right (a signed left operand). Shifts take their width (32 or 64) in A: a count of the
    /// width or more is a runtime error, as in HyperDbg.</summary>
    Sar,

    /// <summary>Unsigned comparisons (an unsigned operand after C's conversions).</summary>
    CmpLtU,
    CmpGtU,
    CmpLeU,
    CmpGeU,

    /// <summary>Does nothing; carries the count of a HyperDbg instruction that has no counterpart here (the jump over a
    /// function definition, the jump into an empty <c>for</c> step).</summary>
    Nop,
}

/// <summary>
/// One instruction: 16 bytes, laid out for a tight dispatch loop. <see cref="Weight"/> is how many instructions
/// HyperDbg's evaluator executes for it (0 for operand pushes, which are operands of HyperDbg's three-address code), so
/// a run's operation count is HyperDbg's executed-instruction count (docs/script-language.md, "Runtime limits"). A
/// conditional jump adds <see cref="B"/> more when it falls through.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct Instruction
{
    public OpCode Op;
    public byte Weight;
    public int A;
    public ulong B;

    public Instruction(OpCode op, int a, ulong b, byte weight)
    {
        Op = op;
        Weight = weight;
        A = a;
        B = b;
    }

    public override readonly string ToString() => $"{Op} {A} 0x{B:x} ({Weight})";
}
