// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

/// <summary>One call frame of a user-defined function.</summary>
internal struct CallFrame
{
    public int ReturnPc;
    public int Fp;
    public int Function;
}

/// <summary>
/// Per-run memory (stack, call frames, printf buffer, <c>$time</c> scratch). One is cached per thread so runs do not
/// allocate; a nested run on the same thread (a target that runs another script) gets a fresh one.
/// </summary>
internal sealed class RunState
{
    [ThreadStatic]
    private static RunState? s_cached;

    public ulong[] Stack { get; } = new ulong[ScriptLimits.StackSlots];

    public CallFrame[] Frames { get; } = new CallFrame[ScriptLimits.MaxCallDepth];

    public char[] Text { get; } = new char[ScriptLimits.PrintfBufferLength];

    public byte[] Scratch { get; } = new byte[SyntheticMemory.ScratchSize];

    public int ScratchUsed { get; set; }

    public Interpreter Interpreter { get; }

    private RunState()
    {
        Interpreter = new Interpreter(this);
    }

    public static RunState Rent()
    {
        RunState? state = s_cached;
        if (state is not null)
        {
            s_cached = null;
            return state;
        }

        return new RunState();
    }

    public static void Return(RunState state) => s_cached = state;
}
