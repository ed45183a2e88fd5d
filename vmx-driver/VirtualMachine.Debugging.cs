// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Collections.Frozen;
using HyperDbgRemote.VmxDriver.Internal.Execution;

namespace HyperDbgRemote.VmxDriver;

/// <content>Code breakpoints and single-stepping: the breakpoint set every core follows and the core that steps.</content>
public sealed partial class VirtualMachine
{
    private readonly object _breakpointGate = new();
    private FrozenSet<ulong> _codeBreakpoints = FrozenSet<ulong>.Empty;
    private int _codeBreakpointVersion;
    private int _steppingCore = -1;

    /// <summary>
    /// Decides whether a code breakpoint halts the VM, on the reaching core's thread before the instruction executes:
    /// called with the core and the breakpoint's linear address, it returns the halt's <see cref="VmHaltInfo.Tag"/>
    /// to halt (<see cref="HaltReason.Breakpoint"/>), or null to let the instruction execute as if no breakpoint were
    /// there (a breakpoint filtered to another core or process). It may read and write registers and memory (a
    /// breakpoint's script) but must not halt the VM or throw. Null (the default): every breakpoint halts, tagged with
    /// its address.
    /// </summary>
    public Func<Vcpu, ulong, object?>? CodeBreakpointFilter { get; set; }

    /// <summary>The code breakpoints' linear addresses, in ascending order.</summary>
    public IReadOnlyList<ulong> CodeBreakpoints => [.. Volatile.Read(ref _codeBreakpoints).Order()];

    /// <summary>
    /// Sets a code breakpoint at a linear address (CS base + RIP): any core that reaches it halts the VM
    /// (<see cref="HaltReason.Breakpoint"/>) before the instruction there executes. Code elsewhere runs at full speed.
    /// Call it while halted, before the start, or from an exit handler; cores pick it up before they execute again.
    /// Returns false when one is already set there.
    /// </summary>
    /// <exception cref="InvalidOperationException">The VM runs and the caller is not one of its cores.</exception>
    public bool AddCodeBreakpoint(ulong linearAddress) => ChangeCodeBreakpoints(linearAddress, add: true);

    /// <summary>Removes the code breakpoint at a linear address; false when none was set there.</summary>
    /// <exception cref="InvalidOperationException">The VM runs and the caller is not one of its cores.</exception>
    public bool RemoveCodeBreakpoint(ulong linearAddress) => ChangeCodeBreakpoints(linearAddress, add: false);

    /// <summary>
    /// Single-steps <paramref name="core"/> from a halt: only that core runs, it executes one instruction and the VM
    /// halts again (<see cref="HaltReason.Step"/>) before the next; the other cores stay where they are, and guest time
    /// stands still. A halt for another reason meanwhile (an event on the stepped instruction) ends the step. False when
    /// the VM is not halted.
    /// </summary>
    /// <exception cref="InvalidOperationException">The core sleeps in HLT: it has no instruction to execute until an
    /// interrupt wakes it.</exception>
    public bool Step(Vcpu core)
    {
        ArgumentNullException.ThrowIfNull(core);
        lock (_gate)
        {
            if (!_halted || _stopRequested)
            {
                return false;
            }

            if (core.State != CoreState.Running)
            {
                throw new InvalidOperationException($"core {core.Index} waits in HLT for an interrupt: it has no instruction to step.");
            }

            _steppingCore = core.Index;
            core.Debug.RequestStep();
            _batonOwner = core.Index;
            _halted = false;
            _haltInfo = null;
            Monitor.PulseAll(_gate);
            return true;
        }
    }

    /// <summary>
    /// Steps <paramref name="core"/> over the instruction at RIP from a halt (a call, INT n or a REP string
    /// instruction): only that core runs, until it reaches <paramref name="nextInstruction"/> (linear) with RSP at or
    /// above its value now, and the VM halts there (<see cref="HaltReason.Step"/>). Guest time runs meanwhile (timer
    /// interrupts arrive). A breakpoint or an event on the way, or HLT, ends it as it ends a step. False when the VM is
    /// not halted.
    /// </summary>
    /// <exception cref="InvalidOperationException">The core sleeps in HLT.</exception>
    public bool StepOver(Vcpu core, ulong nextInstruction)
    {
        ArgumentNullException.ThrowIfNull(core);
        lock (_gate)
        {
            if (!_halted || _stopRequested)
            {
                return false;
            }

            if (core.State != CoreState.Running)
            {
                throw new InvalidOperationException($"core {core.Index} waits in HLT for an interrupt: it has no instruction to step.");
            }

            _steppingCore = core.Index;
            core.Debug.RequestRunTo(nextInstruction, core.ReadRegister(GuestRegister.Rsp));
            _batonOwner = core.Index;
            _halted = false;
            SetClockFrozenLocked(false); // what it steps over runs in guest time (a call may wait for the timer)
            _haltInfo = null;
            Monitor.PulseAll(_gate);
            return true;
        }
    }

    internal int CodeBreakpointVersion => Volatile.Read(ref _codeBreakpointVersion);

    internal IReadOnlyCollection<ulong> CodeBreakpointSnapshot() => Volatile.Read(ref _codeBreakpoints);

    internal bool HasCodeBreakpoint(ulong linearAddress) => Volatile.Read(ref _codeBreakpoints).Contains(linearAddress);

    /// <summary>The tag to halt with at the code breakpoint at <paramref name="linearAddress"/>, or null to go on.</summary>
    internal object? CodeBreakpointDecision(Vcpu core, ulong linearAddress) =>
        CodeBreakpointFilter is { } filter ? filter(core, linearAddress) : linearAddress;

    internal void StepEnded(Vcpu core)
    {
        lock (_gate)
        {
            if (_steppingCore == core.Index)
            {
                _steppingCore = -1;
            }
        }
    }

    private bool ChangeCodeBreakpoints(ulong linearAddress, bool add)
    {
        if (_started && !HasStopped && !CoreThread.IsCurrentThreadACore && !IsHalted)
        {
            throw new InvalidOperationException("Breakpoints can be changed while the VM is halted (or from an exit handler), not while it runs.");
        }

        lock (_breakpointGate)
        {
            FrozenSet<ulong> current = _codeBreakpoints;
            if (current.Contains(linearAddress) == add)
            {
                return false;
            }

            HashSet<ulong> next = [.. current];
            _ = add ? next.Add(linearAddress) : next.Remove(linearAddress);
            Volatile.Write(ref _codeBreakpoints, next.ToFrozenSet());
            Interlocked.Increment(ref _codeBreakpointVersion);
        }

        foreach (Vcpu core in _cores)
        {
            core.RaiseAttention();
        }

        return true;
    }
}
