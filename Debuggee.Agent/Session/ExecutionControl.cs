// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Messaging;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.VmxDriver;
using Iced.Intel;
using HaltReason = HyperDbgRemote.VmxDriver.HaltReason;
using Instruction = Iced.Intel.Instruction;

namespace HyperDbgRemote.Agent.Session;

/// <summary>
/// Session-level execution control on top of the VM's single-step: every change passes the
/// session's halt gate (so "halted, then act" is one step for every debugger attached) and tells the hosts that the
/// guest runs before it does. Used by the gdb stub and by the host's <c>t</c>, <c>p</c>, <c>i</c> and <c>gu</c>.
/// </summary>
internal sealed class ExecutionControl
{
    /// <summary>The longest x86 instruction (SDM Vol. 2A 2.3.11).</summary>
    private const int MaxInstructionLength = 15;

    private readonly DebuggeeSession _session;

    public ExecutionControl(DebuggeeSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        _session = session;
    }

    /// <summary>What one step request did: the steps done, the last halt, and for <c>gu</c> whether the function
    /// returned within the instructions allowed.</summary>
    public sealed record StepResult(int Steps, VmHaltInfo Halt, bool Returned);

    /// <summary>Single-steps one core while the others stay halted; the step's end arrives as a halt.</summary>
    /// <exception cref="SessionException">Not halted, no such core, or the core sleeps in HLT.</exception>
    public void Step(int core, CancellationToken cancellationToken = default) => Start(core, over: false, quiet: false, cancellationToken);

    /// <summary>
    /// <c>t</c>, <c>p</c>, <c>i</c> COUNT: steps one core up to <paramref name="count"/> times, each step waiting for its
    /// halt (every halt also goes to the hosts as a notification); <c>gu</c>: steps over instructions (quietly) until
    /// the current function's return has executed, at most <paramref name="count"/> instructions, and notifies the
    /// last halt only. A halt for another reason (a breakpoint, an event) ends them early.
    /// </summary>
    /// <exception cref="SessionException">Not halted, no such core, the core sleeps in HLT, or the guest stopped.</exception>
    public StepResult Step(int core, int count, StepKind kind, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (kind == StepKind.Out)
        {
            return GoUp(core, count, cancellationToken);
        }

        for (int done = 1; ; done++)
        {
            VmHaltInfo halt = StepOnce(core, kind == StepKind.Over, quiet: false, done, cancellationToken);
            if (done == count || halt.Reason != HaltReason.Step)
            {
                return new StepResult(done, halt, Returned: false);
            }
        }
    }

    /// <summary>Continues every core (see <see cref="DebuggeeSession.Continue"/>).</summary>
    public void Continue(CancellationToken cancellationToken = default) => _session.Continue(cancellationToken: cancellationToken);

    private StepResult GoUp(int core, int limit, CancellationToken cancellationToken)
    {
        // HyperDbg's gu steps over instructions until a return executes; the intermediate halts are not shown.
        VmHaltInfo? halt = null;
        bool returned = false;
        int done = 0;
        _session.QuietSteps = true;
        try
        {
            _session.Messages.Enqueue(new RunningMessage());
            while (done < limit && !returned)
            {
                bool isReturn = _session.WhileHalted("stepping", () => Decode(_session.Core(core)) is { FlowControl: FlowControl.Return }, cancellationToken);
                done++;
                halt = StepOnce(core, over: true, quiet: true, done, cancellationToken);
                if (halt.Reason != HaltReason.Step)
                {
                    // A breakpoint or an event: notified as it happened.
                    return new StepResult(done, halt, Returned: false);
                }

                returned = isReturn;
            }
        }
        finally
        {
            _session.QuietSteps = false;
        }

        _session.Messages.Enqueue(DebuggeeSession.Describe(halt!));
        return new StepResult(done, halt!, returned);
    }

    private VmHaltInfo StepOnce(int core, bool over, bool quiet, int done, CancellationToken cancellationToken)
    {
        var next = new TaskCompletionSource<VmHaltInfo?>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnHalt(object? sender, VmHaltInfo h) => next.TrySetResult(h);
        void OnStop(object? sender, VmStopInfo s) => next.TrySetResult(null);
        _session.Vm.Halted += OnHalt;
        _session.Vm.Stopped += OnStop;
        VmHaltInfo? halt;
        try
        {
            Start(core, over, quiet, cancellationToken);
            if (_session.Vm.HasStopped)
            {
                next.TrySetResult(null);
            }

            halt = next.Task.WaitAsync(cancellationToken).GetAwaiter().GetResult();
        }
        finally
        {
            _session.Vm.Halted -= OnHalt;
            _session.Vm.Stopped -= OnStop;
        }

        return halt ?? throw new SessionException($"the guest stopped during step {done:x}.", Status.GuestStopped);
    }

    private void Start(int core, bool over, bool quiet, CancellationToken cancellationToken) => _session.WhileHalted("stepping", () =>
    {
        Vcpu c = _session.Core(core);
        if (c.State != CoreState.Running)
        {
            throw new SessionException($"core {core:x} waits in HLT for an interrupt: it has no instruction to step.", Status.InvalidArgument);
        }

        if (!quiet)
        {
            _session.Messages.Enqueue(new RunningMessage());
        }

        // p: a call, INT n (INT3, INTO, INT1) or a REP string instruction runs on this core until the next instruction.
        if (over && Decode(c) is Instruction i && !i.IsInvalid && IsSteppedOver(i))
        {
            return _session.Vm.StepOver(c, c.LinearInstructionPointer() + (ulong)i.Length);
        }

        return _session.Vm.Step(c);
    }, cancellationToken);

    private static bool IsSteppedOver(in Instruction i) =>
        i.FlowControl is FlowControl.Call or FlowControl.IndirectCall or FlowControl.Interrupt ||
        (i.IsStringInstruction && (i.HasRepPrefix || i.HasRepnePrefix));

    /// <summary>The instruction at the core's RIP, or null when its bytes cannot be read.</summary>
    private static Instruction? Decode(Vcpu core)
    {
        byte[] bytes = new byte[MaxInstructionLength];
        int n = core.ReadVirtual(core.LinearInstructionPointer(), bytes);
        if (n == 0)
        {
            return null;
        }

        var decoder = Decoder.Create(core.CodeBitness(), new ByteArrayCodeReader(bytes, 0, n), core.LinearInstructionPointer());
        decoder.Decode(out Instruction instruction);
        return instruction;
    }
}
