// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.CompilerServices;

namespace HyperDbgRemote.Script.Internal;

/// <summary>
/// The evaluator: a dispatch loop over <see cref="Instruction"/>s and a stack of 64-bit cells. It allocates nothing
/// unless a run fails (the error message) or calls a function that must (disassembly). Runtime errors end the run
/// with a message naming the failing function (spec 3.5, 6.10).
/// </summary>
internal sealed partial class Interpreter
{
    /// <summary>Operations between two looks at the cancellation token (a few microseconds of work).</summary>
    private const long CheckpointStride = 4096;

    private readonly RunState _state;
    private ScriptProgramImage _image = null!;
    private IScriptTarget _target = null!;
    private ulong[] _globals = null!;
    private int[] _globalSlots = null!;
    private ScriptRunContext _context;
    private string? _error;
    private long _operations;
    private long _limit;
    private ScriptLimits _limits = ScriptLimits.Default;
    private CancellationToken _cancellation;

    public Interpreter(RunState state)
    {
        _state = state;
    }

    public ScriptRunResult Run(
        ScriptProgramImage image,
        IScriptTarget target,
        ulong[] globals,
        int[] globalSlots,
        in ScriptRunContext context,
        ScriptLimits limits,
        CancellationToken cancellation)
    {
        _image = image;
        _target = target;
        _globals = globals;
        _globalSlots = globalSlots;
        _context = context;
        _limits = limits;
        _limit = limits.MaxOperations == 0 ? long.MaxValue : limits.MaxOperations;
        _cancellation = cancellation;
        _error = null;
        _operations = 0;
        _state.ScratchUsed = 0;
        try
        {
            Execute();
            return _error is null ? ScriptRunResult.Succeeded(_operations) : ScriptRunResult.Failed(_error, _operations);
        }
        finally
        {
            _image = null!;
            _target = null!;
            _globals = null!;
            _globalSlots = null!;
            _limits = ScriptLimits.Default;
            _cancellation = default;
        }
    }

    private void Execute()
    {
        Instruction[] code = _image.Code;
        ulong[] stack = _state.Stack;
        CallFrame[] frames = _state.Frames;
        FunctionImage main = _image.Functions[0];
        int pc = main.Entry;
        int fp = 0;
        int sp = main.LocalCount;
        int depth = 0;
        int function = 0;
        long operations = Counting.ProgramStart;

        // Operations are counted as HyperDbg's evaluator counts its instructions (Instruction.Weight), with one
        // comparison per instruction: the limit and the cancellation token are looked at when the count passes the
        // checkpoint (every CheckpointStride operations, and at the limit).
        long checkpoint = Math.Min(_limit, CheckpointStride);

        // Locals start at 0 on every run (spec 3.5).
        Array.Clear(stack, 0, main.LocalCount);
        while (true)
        {
            ref Instruction ins = ref code[pc++];
            operations += ins.Weight;
            if (operations > checkpoint && !Checkpoint(operations, ins.Weight, function, ref checkpoint))
            {
                return;
            }

            switch (ins.Op)
            {
                case OpCode.End:
                    _operations = operations;
                    return;
                case OpCode.PushConst:
                    stack[sp++] = ins.B;
                    break;
                case OpCode.Pop:
                    sp--;
                    break;
                case OpCode.Dup:
                    stack[sp] = stack[sp - 1];
                    sp++;
                    break;
                case OpCode.LoadLocal:
                    stack[sp++] = stack[fp + ins.A];
                    break;
                case OpCode.StoreLocal:
                    stack[fp + ins.A] = stack[--sp];
                    break;
                case OpCode.LoadGlobal:
                    stack[sp++] = Volatile.Read(ref _globals[_globalSlots[ins.A]]);
                    break;
                case OpCode.StoreGlobal:
                    Volatile.Write(ref _globals[_globalSlots[ins.A]], stack[--sp]);
                    break;
                case OpCode.LoadReg:
                    stack[sp++] = ReadRegister((ScriptRegister)ins.A);
                    break;
                case OpCode.StoreReg:
                    if (!WriteRegister((ScriptRegister)ins.A, stack[--sp]))
                    {
                        Stop(function, operations, $"@{RegisterTable.Name((ScriptRegister)ins.A)}: the target cannot write this register");
                        return;
                    }

                    break;
                case OpCode.LoadPseudo:
                    stack[sp++] = ReadPseudo((PseudoRegister)ins.A);
                    break;
                case OpCode.AddrLocal:
                    stack[sp++] = SyntheticMemory.StackBase + ((ulong)(fp + ins.A) * sizeof(ulong)) + ins.B;
                    break;
                case OpCode.AddrGlobal:
                    stack[sp++] = SyntheticMemory.GlobalsBase + ((ulong)_globalSlots[ins.A] * sizeof(ulong));
                    break;
                case OpCode.Add:
                    sp--;
                    stack[sp - 1] = unchecked(stack[sp - 1] + stack[sp]);
                    break;
                case OpCode.Sub:
                    sp--;
                    stack[sp - 1] = unchecked(stack[sp - 1] - stack[sp]);
                    break;
                case OpCode.Mul:
                    sp--;
                    stack[sp - 1] = unchecked(stack[sp - 1] * stack[sp]);
                    break;
                case OpCode.DivU:
                case OpCode.ModU:
                    sp--;
                    if (stack[sp] == 0)
                    {
                        Stop(function, operations, ins.Op == OpCode.DivU ? "'/': division by zero" : "'%': division by zero");
                        return;
                    }

                    stack[sp - 1] = ins.Op == OpCode.DivU ? stack[sp - 1] / stack[sp] : stack[sp - 1] % stack[sp];
                    break;
                case OpCode.And:
                    sp--;
                    stack[sp - 1] &= stack[sp];
                    break;
                case OpCode.Or:
                    sp--;
                    stack[sp - 1] |= stack[sp];
                    break;
                case OpCode.Xor:
                    sp--;
                    stack[sp - 1] ^= stack[sp];
                    break;
                case OpCode.Shl:
                case OpCode.Shr:
                case OpCode.Sar:
                    sp--;
                    if (stack[sp] >= (ulong)ins.A)
                    {
                        // HyperDbg 0.23 (ScriptEngineEval.c, typed shifts) refuses a count of the operation's width or more.
                        Stop(function, operations, $"'{(ins.Op == OpCode.Shl ? "<<" : ">>")}': shift count 0x{stack[sp]:x} is not below {ins.A}");
                        return;
                    }

                    stack[sp - 1] = ins.Op switch
                    {
                        OpCode.Shl => stack[sp - 1] << (int)stack[sp],
                        OpCode.Shr => stack[sp - 1] >> (int)stack[sp],
                        _ => unchecked((ulong)((long)stack[sp - 1] >> (int)stack[sp])),
                    };
                    break;
                case OpCode.DivS:
                case OpCode.ModS:
                    sp--;
                    if (stack[sp] == 0 || (stack[sp] == ulong.MaxValue && stack[sp - 1] == 0x8000_0000_0000_0000))
                    {
                        Stop(function, operations, stack[sp] == 0
                            ? (ins.Op == OpCode.DivS ? "'/': division by zero" : "'%': division by zero")
                            : (ins.Op == OpCode.DivS ? "'/': the quotient does not fit in 64 bits" : "'%': the quotient does not fit in 64 bits"));
                        return;
                    }

                    stack[sp - 1] = unchecked((ulong)(ins.Op == OpCode.DivS ? (long)stack[sp - 1] / (long)stack[sp] : (long)stack[sp - 1] % (long)stack[sp]));
                    break;
                case OpCode.Neg:
                    stack[sp - 1] = unchecked(0 - stack[sp - 1]);
                    break;
                case OpCode.Not:
                    stack[sp - 1] = ~stack[sp - 1];
                    break;
                case OpCode.LogicalNot:
                    stack[sp - 1] = stack[sp - 1] == 0 ? 1UL : 0UL;
                    break;
                case OpCode.CmpEq:
                    sp--;
                    stack[sp - 1] = stack[sp - 1] == stack[sp] ? 1UL : 0UL;
                    break;
                case OpCode.CmpNe:
                    sp--;
                    stack[sp - 1] = stack[sp - 1] != stack[sp] ? 1UL : 0UL;
                    break;
                case OpCode.CmpLt:
                    sp--;
                    stack[sp - 1] = (long)stack[sp - 1] < (long)stack[sp] ? 1UL : 0UL;
                    break;
                case OpCode.CmpGt:
                    sp--;
                    stack[sp - 1] = (long)stack[sp - 1] > (long)stack[sp] ? 1UL : 0UL;
                    break;
                case OpCode.CmpLe:
                    sp--;
                    stack[sp - 1] = (long)stack[sp - 1] <= (long)stack[sp] ? 1UL : 0UL;
                    break;
                case OpCode.CmpGe:
                    sp--;
                    stack[sp - 1] = (long)stack[sp - 1] >= (long)stack[sp] ? 1UL : 0UL;
                    break;
                case OpCode.CmpLtU:
                    sp--;
                    stack[sp - 1] = stack[sp - 1] < stack[sp] ? 1UL : 0UL;
                    break;
                case OpCode.CmpGtU:
                    sp--;
                    stack[sp - 1] = stack[sp - 1] > stack[sp] ? 1UL : 0UL;
                    break;
                case OpCode.CmpLeU:
                    sp--;
                    stack[sp - 1] = stack[sp - 1] <= stack[sp] ? 1UL : 0UL;
                    break;
                case OpCode.CmpGeU:
                    sp--;
                    stack[sp - 1] = stack[sp - 1] >= stack[sp] ? 1UL : 0UL;
                    break;
                case OpCode.Jump:
                    pc = ins.A;
                    break;
                case OpCode.JumpIfZero:
                    if (stack[--sp] == 0)
                    {
                        pc = ins.A;
                    }
                    else
                    {
                        operations += (long)ins.B;
                    }

                    break;
                case OpCode.JumpIfNotZero:
                    if (stack[--sp] != 0)
                    {
                        pc = ins.A;
                    }
                    else
                    {
                        operations += (long)ins.B;
                    }

                    break;
                case OpCode.Nop:
                    break;
                case OpCode.Call:
                    {
                        FunctionImage callee = _image.Functions[ins.A];
                        int newFp = sp - callee.ParameterCount;
                        if (depth == frames.Length || newFp + callee.FrameSize > stack.Length)
                        {
                            Stop(function, operations, depth == frames.Length
                                ? $"stack overflow: calls nested deeper than {frames.Length} (calling '{callee.Name}')"
                                : $"stack overflow: the {stack.Length}-slot script stack is full (calling '{callee.Name}')");
                            return;
                        }

                        frames[depth++] = new CallFrame { ReturnPc = pc, Fp = fp, Function = function };
                        fp = newFp;
                        sp = newFp + callee.LocalCount;
                        Array.Clear(stack, newFp + callee.ParameterCount, callee.LocalCount - callee.ParameterCount);
                        pc = callee.Entry;
                        function = ins.A;
                        break;
                    }

                case OpCode.Return:
                    {
                        ulong result = stack[sp - 1];
                        ref CallFrame frame = ref frames[--depth];
                        sp = fp;
                        stack[sp++] = result;
                        fp = frame.Fp;
                        pc = frame.ReturnPc;
                        function = frame.Function;
                        break;
                    }

                case OpCode.Builtin:
                    {
                        int argc = (int)ins.B;
                        if (!TryBuiltin((BuiltinId)ins.A, stack.AsSpan(sp - argc, argc), ref operations, out ulong value))
                        {
                            _operations = operations;
                            _error = WithFunction(function, _error!);
                            return;
                        }

                        sp -= argc;
                        stack[sp++] = value;
                        break;
                    }

                case OpCode.Printf:
                    {
                        int argc = (int)ins.B;
                        if (!TryPrintf(_image.Formats[ins.A], stack.AsSpan(sp - argc, argc)))
                        {
                            _operations = operations;
                            _error = WithFunction(function, _error!);
                            return;
                        }

                        sp -= argc;
                        stack[sp++] = 0;
                        break;
                    }

                case OpCode.StoreMem:
                    {
                        sp -= 2;
                        ulong address = stack[sp];
                        int size = ins.A == 0 ? sizeof(ulong) : ins.A;
                        ulong value = ins.B == 0 ? stack[sp + 1] : BitConverter.SingleToUInt32Bits((float)BitConverter.UInt64BitsToDouble(stack[sp + 1]));
                        if (!TryWriteSized(address, size, value, physical: false))
                        {
                            Stop(function, operations, $"'*': cannot write {size} bytes at 0x{address:x}");
                            return;
                        }

                        break;
                    }

                case OpCode.LoadMem:
                    {
                        ulong address = stack[sp - 1];
                        if (!TryReadSized(address, (int)ins.B, physical: false, out ulong value))
                        {
                            Stop(function, operations, $"'*': cannot read {ins.B} byte(s) at 0x{address:x}");
                            return;
                        }

                        stack[sp - 1] = (ScalarType)ins.A == ScalarType.Float
                            ? BitConverter.DoubleToUInt64Bits(BitConverter.UInt32BitsToSingle((uint)value))
                            : ScalarTypes.Convert((ScalarType)ins.A, value);
                        break;
                    }

                case OpCode.CheckIndex:
                    if (stack[sp - 1] >= ins.B)
                    {
                        Stop(function, operations, $"array '{_image.ArrayNames[ins.A]}': index {(long)stack[sp - 1]} is out of bounds (the array has {ins.B} elements)");
                        return;
                    }

                    break;
                case OpCode.ZeroLocals:
                    Array.Clear(stack, fp + ins.A, (int)ins.B);
                    break;
                default:
                    ExecuteRare(ref ins, stack, ref sp);
                    break;
            }
        }
    }

    /// <summary>Float and conversion operations, kept out of the main switch.</summary>
    private static void ExecuteRare(ref Instruction ins, ulong[] stack, ref int sp)
    {
        switch (ins.Op)
        {
            case OpCode.Convert:
                stack[sp - 1] = ScalarTypes.Convert((ScalarType)ins.A, stack[sp - 1]);
                return;
            case OpCode.IntToFloat:
                stack[sp - 1] = BitConverter.DoubleToUInt64Bits((long)stack[sp - 1]);
                return;
            case OpCode.FloatToInt:
                stack[sp - 1] = unchecked((ulong)(long)BitConverter.UInt64BitsToDouble(stack[sp - 1]));
                return;
            case OpCode.FloatToBool:
                stack[sp - 1] = BitConverter.UInt64BitsToDouble(stack[sp - 1]) != 0 ? 1UL : 0UL;
                return;
            case OpCode.FNeg:
                stack[sp - 1] = BitConverter.DoubleToUInt64Bits(-BitConverter.UInt64BitsToDouble(stack[sp - 1]));
                return;
            default:
                break;
        }

        sp--;
        double left = BitConverter.UInt64BitsToDouble(stack[sp - 1]);
        double right = BitConverter.UInt64BitsToDouble(stack[sp]);
        stack[sp - 1] = ins.Op switch
        {
            OpCode.FAdd => BitConverter.DoubleToUInt64Bits(left + right),
            OpCode.FSub => BitConverter.DoubleToUInt64Bits(left - right),
            OpCode.FMul => BitConverter.DoubleToUInt64Bits(left * right),
            OpCode.FDiv => BitConverter.DoubleToUInt64Bits(left / right),
            OpCode.FCmpEq => left == right ? 1UL : 0UL,
            OpCode.FCmpNe => left != right ? 1UL : 0UL,
            OpCode.FCmpLt => left < right ? 1UL : 0UL,
            OpCode.FCmpGt => left > right ? 1UL : 0UL,
            OpCode.FCmpLe => left <= right ? 1UL : 0UL,
            OpCode.FCmpGe => left >= right ? 1UL : 0UL,
            _ => throw new InvalidOperationException($"opcode {ins.Op} is not implemented"),
        };
    }

    /// <summary>At a checkpoint (the instruction about to run weighs <paramref name="weight"/>): fails the run beyond
    /// the limit or when it was cancelled, else sets the next checkpoint.</summary>
    private bool Checkpoint(long operations, int weight, int function, ref long checkpoint)
    {
        if (operations > _limit)
        {
            Stop(function, operations, $"execution limit: more than {_limit:N0} operations in one run (endless loop?{LimitSetting()})");
            return false;
        }

        if (_cancellation.IsCancellationRequested)
        {
            Stop(function, operations - weight, $"interrupted after {operations - weight:N0} operations: the run was cancelled");
            return false;
        }

        checkpoint = Math.Min(_limit, operations + CheckpointStride);
        return true;
    }

    /// <summary>Where the limit is set, for messages ("; the limit is the agent's --x"), or nothing.</summary>
    private string LimitSetting() => _limits.MaxOperationsSetting is string setting ? $"; the limit is {setting}" : string.Empty;

    private void Stop(int function, long operations, string message)
    {
        _operations = operations;
        Fail(function, message);
    }

    private void Fail(int function, string message) => _error = WithFunction(function, message);

    private string WithFunction(int function, string message) =>
        function == 0 ? message : $"{message} (in function '{_image.Functions[function].Name}')";

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong ReadRegister(ScriptRegister register)
    {
        ScriptRegisterInfo layout = RegisterTable.Layouts[(int)register];
        ulong full = _target.GetRegister(layout.Full);
        return layout.IsFull ? full : (full >> layout.Shift) & layout.Mask;
    }

    private bool WriteRegister(ScriptRegister register, ulong value)
    {
        ScriptRegisterInfo layout = RegisterTable.Layouts[(int)register];
        if (layout.IsFull)
        {
            return _target.TrySetRegister(register, value);
        }

        // Spec 6.3: a sub-register write keeps every other bit of the full register.
        ulong mask = layout.Mask << layout.Shift;
        ulong old = _target.GetRegister(layout.Full);
        return _target.TrySetRegister(layout.Full, (old & ~mask) | ((value << layout.Shift) & mask));
    }
}
