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
    private FrozenDictionary<ulong, Action<Vcpu>> _executionTraps = FrozenDictionary<ulong, Action<Vcpu>>.Empty;

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
    /// halts again (<see cref="HaltReason.Step"/>) before the next; the other cores stay where they are. A halt for
    /// another reason meanwhile (an event on the stepped instruction) ends the step. False when the VM is not halted.
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

            // Guest time stays frozen for the one instruction (as QEMU's gdbstub steps by default): the step takes no
            // external interrupt anyway, and what the guest reads from the PIT or the RTC is what it read at the halt.
            _halted = false;
            SetTscHaltedLocked(false);
            _haltInfo = null;
            Monitor.PulseAll(_gate);
            return true;
        }
    }

    /// <summary>
    /// Steps <paramref name="core"/> over the instruction at RIP from a halt (a call, INT n or a REP string
    /// instruction): only that core runs, until it reaches <paramref name="nextInstruction"/> (linear) with RSP at or
    /// above its value now, and the VM halts there (<see cref="HaltReason.Step"/>). A breakpoint or an event on the
    /// way, or HLT, ends it as it ends a step. False when the VM is not halted.
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

            // The callee may wait for a timer interrupt (interrupts are allowed in a step over): guest time runs.
            SetHaltedLocked(false);
            _haltInfo = null;
            Monitor.PulseAll(_gate);
            return true;
        }
    }

    /// <summary>
    /// Sets a hidden execution trap, the driver's own use of the breakpoint machinery (e.g. a watch on a kernel's
    /// <c>panic</c>): before the instruction at <paramref name="linearAddress"/> executes, on any core,
    /// <paramref name="onReached"/> runs on that core's thread and the instruction then executes. A trap never halts
    /// by itself (its callback may ask for a halt with <see cref="RequestHalt"/>), is not one of
    /// <see cref="CodeBreakpoints"/> (a debugger's <c>bl</c> does not list it) and does not hide a breakpoint at the
    /// same address. The callback may read registers and memory; it may run twice for the same instruction (when a
    /// breakpoint there halted and the core resumed), and must not throw. Set traps before the VM starts.
    /// </summary>
    /// <exception cref="InvalidOperationException">The VM has started, or a trap is already set there.</exception>
    public void AddExecutionTrap(ulong linearAddress, Action<Vcpu> onReached)
    {
        ArgumentNullException.ThrowIfNull(onReached);
        if (_started)
        {
            throw new InvalidOperationException("Execution traps are set before the VM starts.");
        }

        lock (_breakpointGate)
        {
            if (_executionTraps.ContainsKey(linearAddress))
            {
                throw new InvalidOperationException($"An execution trap is already set at 0x{linearAddress:x}.");
            }

            Dictionary<ulong, Action<Vcpu>> next = new(_executionTraps) { [linearAddress] = onReached };
            Volatile.Write(ref _executionTraps, next.ToFrozenDictionary());
            Interlocked.Increment(ref _codeBreakpointVersion);
        }
    }

    internal int CodeBreakpointVersion => Volatile.Read(ref _codeBreakpointVersion);

    /// <summary>Every address a core needs an instruction hook at: the breakpoints and the hidden execution traps.</summary>
    internal IReadOnlyCollection<ulong> InstructionHookSnapshot()
    {
        FrozenDictionary<ulong, Action<Vcpu>> traps = Volatile.Read(ref _executionTraps);
        FrozenSet<ulong> breakpoints = Volatile.Read(ref _codeBreakpoints);
        return traps.Count == 0 ? breakpoints : [.. breakpoints.Union(traps.Keys)];
    }

    /// <summary>Runs the hidden execution trap at <paramref name="linearAddress"/>, if any (on the reaching core's thread).</summary>
    internal void RunExecutionTrap(Vcpu core, ulong linearAddress)
    {
        if (Volatile.Read(ref _executionTraps).TryGetValue(linearAddress, out Action<Vcpu>? onReached))
        {
            onReached(core);
        }
    }

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
