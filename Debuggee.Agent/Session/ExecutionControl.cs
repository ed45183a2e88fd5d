// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Messaging;
using HyperDbgRemote.VmxDriver;

namespace HyperDbgRemote.Agent.Session;

/// <summary>
/// Session-level execution control on top of the VM's code breakpoints and single-step: every change passes the
/// session's halt gate (so "halted, then act" is one step for every debugger attached) and tells the hosts that the
/// guest runs before it does. Used by the gdb stub; the host's commands can use the same calls.
/// </summary>
internal sealed class ExecutionControl
{
    private readonly DebuggeeSession _session;

    public ExecutionControl(DebuggeeSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        _session = session;
    }

    /// <summary>Sets a code breakpoint at a linear address (halted only); false when one is already there.</summary>
    /// <exception cref="SessionException">Not halted, or the address is not canonical.</exception>
    public bool SetBreakpoint(ulong linearAddress) => _session.WhileHalted("setting a breakpoint", () =>
    {
        BreakpointTable.CheckCanonical(linearAddress);
        return _session.Vm.AddCodeBreakpoint(linearAddress);
    });

    /// <summary>Removes the code breakpoint at a linear address (halted only); false when none is there.</summary>
    /// <exception cref="SessionException">Not halted.</exception>
    public bool ClearBreakpoint(ulong linearAddress) => _session.WhileHalted("removing a breakpoint", () => _session.Vm.RemoveCodeBreakpoint(linearAddress));

    /// <summary>Single-steps one core while the others stay halted; the step's end arrives as a halt.</summary>
    /// <exception cref="SessionException">Not halted, no such core, or the core sleeps in HLT.</exception>
    public void Step(int core, CancellationToken cancellationToken = default) => _session.WhileHalted("stepping", () =>
    {
        Vcpu c = _session.Core(core);
        if (c.State != CoreState.Running)
        {
            throw new SessionException($"core {core:x} waits in HLT for an interrupt: it has no instruction to step.", Protocol.Messages.Status.InvalidArgument);
        }

        _session.Messages.Enqueue(new RunningMessage());
        return _session.Vm.Step(c);
    }, cancellationToken);

    /// <summary>
    /// <c>t COUNT</c>: single-steps one core up to <paramref name="count"/> times, each step waiting for its halt (every
    /// halt also goes to the hosts as a notification). A halt for another reason (a breakpoint, an event) ends the
    /// steps early. Returns the steps done and the last halt.
    /// </summary>
    /// <exception cref="SessionException">Not halted, no such core, the core sleeps in HLT, or the guest stopped.</exception>
    public (int Steps, VmHaltInfo Halt) Step(int core, int count, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        for (int done = 0; ;)
        {
            var next = new TaskCompletionSource<VmHaltInfo?>(TaskCreationOptions.RunContinuationsAsynchronously);
            void OnHalt(object? sender, VmHaltInfo h) => next.TrySetResult(h);
            void OnStop(object? sender, VmStopInfo s) => next.TrySetResult(null);
            _session.Vm.Halted += OnHalt;
            _session.Vm.Stopped += OnStop;
            VmHaltInfo? halt;
            try
            {
                Step(core, cancellationToken);
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

            done++;
            if (halt is null)
            {
                throw new SessionException($"the guest stopped during step {done:x}.", Protocol.Messages.Status.GuestStopped);
            }

            if (done == count || halt.Reason != HaltReason.Step)
            {
                return (done, halt);
            }
        }
    }

    /// <summary>Continues every core (see <see cref="DebuggeeSession.Continue"/>).</summary>
    public void Continue(CancellationToken cancellationToken = default) => _session.Continue(cancellationToken: cancellationToken);
}
