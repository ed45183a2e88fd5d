// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// One core's code breakpoints and single-stepping, on its own thread. The VM keeps the breakpoint set and who steps;
/// this class brings the core's engine hooks in line with them at the points where the core may change its engine
/// (block boundaries, instruction callbacks, before a run), restarts the current block where it was translated with
/// other hooks, and turns instruction callbacks into halts.
/// </summary>
/// <remarks>
/// Resuming from a breakpoint does not hit it again: the core remembers the address it stopped at and lets the next
/// callback there pass, and forgets it at any block boundary elsewhere (the instruction ran, or the core went
/// elsewhere). A halt inside a code callback always restarts the block at RIP, so the callback at the address comes
/// after the block boundary there, which keeps a one-instruction loop on a breakpoint hitting once per iteration.
/// </remarks>
internal sealed class CoreDebug
{
    private const int DebugVector = 1;
    private const ulong FlagRf = 1UL << 16;

    private readonly Vcpu _core;
    private readonly VirtualMachine _vm;
    private int _appliedVersion = -1;
    private int _appliedMonitorVersion;
    private bool _appliedStepping;
    private bool _appliedHideSce;
    private bool _appliedWatch;
    private bool _appliedGuestEvery;
    private ulong? _skipAt;
    private bool _stepRequested;
    private bool _stepStarted;
    private bool _stepArmed;
    private bool _runToActive;
    private ulong _runTo;
    private ulong _runToStack;
    private ulong? _appliedRunTo;

    /// <summary>Set when a step began at a halt inside an instruction that had not completed (an I/O event's pre stage):
    /// the step is that instruction, and an I/O instruction ends it itself once it completes
    /// (<see cref="TakeStepBegunInside"/>, <see cref="EndStepAfterInstruction"/>).</summary>
    private bool _stepBegunInside;

    /// <summary>Set during the halt that ends a step right after an I/O instruction, inside its exit.</summary>
    private bool _haltedAfterInstruction;

    /// <summary>Set when an instruction callback restarted the block: the engine still calls the other hooks it has
    /// for that instruction (including one added in the callback), which must be ignored until the block starts again.</summary>
    private bool _restarted;

    public CoreDebug(Vcpu core)
    {
        _core = core;
        _vm = core.Machine;
    }

    /// <summary>Where the core's thread is: set by the callbacks that may halt.</summary>
    public DebugSite Site { get; set; }

    /// <summary>True when the last instruction callback restarted the block (a halt, a step's end): the instruction has
    /// not executed and the other hooks for it must not act.</summary>
    public bool Restarted => _restarted;

    /// <summary>True while every instruction is called back for <see cref="InstructionWatch"/> (<c>!mode</c>).</summary>
    public bool Watches => _appliedWatch;

    /// <summary>True while a step (or a step over) was asked for and has not ended.</summary>
    public bool IsStepping => Volatile.Read(ref _stepRequested) || Volatile.Read(ref _runToActive);

    /// <summary>True while a single step is under way: the core takes no external interrupt until it ends (see
    /// <see cref="VirtualMachine.Step"/>).</summary>
    public bool HoldsInterrupts => Volatile.Read(ref _stepRequested);

    /// <summary>Called by the VM (under its lock, the core waiting) to make the core execute one instruction.</summary>
    public void RequestStep()
    {
        _stepStarted = false;
        _stepArmed = false;
        _stepBegunInside = false;
        Volatile.Write(ref _stepRequested, true);
    }

    private ulong? CurrentRunTo => Volatile.Read(ref _runToActive) ? _runTo : null;

    /// <summary>Called by the VM (under its lock, the core waiting) to run the core until it reaches
    /// <paramref name="address"/> with RSP at or above <paramref name="stackPointer"/> (a step over a call, an
    /// interrupt or a REP string instruction: the same frame, not a recursive call's).</summary>
    public void RequestRunTo(ulong address, ulong stackPointer)
    {
        _runToStack = stackPointer;
        _runTo = address;
        Volatile.Write(ref _runToActive, true);
    }

    /// <summary>A halt for another reason ends the step (the user sees that halt instead).</summary>
    public void CancelStep()
    {
        _stepBegunInside = false;
        Volatile.Write(ref _stepRequested, false);
        Volatile.Write(ref _runToActive, false);
    }

    /// <summary>At a block boundary, after the VM's scheduling: forgets a passed breakpoint, applies hook changes,
    /// restarts the block when it was translated with other hooks.</summary>
    public void AtBlockBoundary(ulong address)
    {
        _restarted = false;
        _stepBegunInside = false;
        if (_vm.StopRequested)
        {
            return;
        }

        if (_skipAt is ulong skip && skip != address)
        {
            _skipAt = null;
        }

        Sync(DebugSite.BlockBoundary);
        if (_skipAt is not null)
        {
            _core.Context.RaiseAttention();
        }
    }

    /// <summary>Before the core's engine runs (first run, after HLT).</summary>
    public void BeforeRun()
    {
        _skipAt = null;
        Sync(DebugSite.BeforeRun);
    }

    /// <summary>After a halt taken inside an I/O exit: hook changes apply from the next block on.</summary>
    public void AfterHaltInsideInstruction() => Sync(DebugSite.InsideInstruction);

    /// <summary>Called by an I/O instruction that completed after its exit halted the VM: true (once) when a step began
    /// at that halt, so the step ends now, right after the instruction.</summary>
    public bool TakeStepBegunInside()
    {
        bool begun = _stepBegunInside && Volatile.Read(ref _stepRequested);
        _stepBegunInside = false;
        return begun;
    }

    /// <summary>
    /// Ends the step right after an I/O instruction, on the core's thread inside the instruction's exit (the engine
    /// cannot leave its translation block there, so the step cannot wait for the next instruction's callback: in a
    /// block translated while the guest ran there is none). The caller shows RIP after the instruction meanwhile. The
    /// halt's tag is the exit (a debugger must not move RIP at this halt: the engine is still inside the instruction).
    /// </summary>
    public void EndStepAfterInstruction(IoExit exit)
    {
        Volatile.Write(ref _stepRequested, false);
        _vm.StepEnded(_core);
        _haltedAfterInstruction = true;
        try
        {
            _vm.Halt(_core, HaltReason.Step, tag: exit);
        }
        finally
        {
            _haltedAfterInstruction = false;
        }
    }

    /// <summary>The engine's instruction callback: a step's end or a breakpoint (the debugger's first, then the
    /// guest's own: <see cref="GuestBreakpoints"/>).</summary>
    public void OnInstruction(ulong address)
    {
        if (_restarted || _vm.StopRequested)
        {
            return;
        }

        // A data or I/O breakpoint of the guest's hit by the instruction before: #DB, trap-like, before this one.
        if (_core.GuestBreakpoints.TakePendingTrap() is uint trap and not 0)
        {
            RaiseDebugException(address, trap);
            return;
        }

        // The driver's hidden traps see the instruction whatever else happens at it; they never halt here.
        _vm.RunExecutionTrap(_core, address);
        if (Volatile.Read(ref _stepRequested))
        {
            if (!_stepArmed)
            {
                // The instruction the step executes.
                _stepArmed = true;
                _skipAt = null;
                return;
            }

            _stepRequested = false;
            _vm.StepEnded(_core);
            HaltAt(address, HaltReason.Step);
            return;
        }

        if (_runToActive && _runTo == address && _core.Context.ReadRegister(GuestRegister.Rsp) >= _runToStack)
        {
            Volatile.Write(ref _runToActive, false);
            _vm.StepEnded(_core);
            HaltAt(address, HaltReason.Step);
            return;
        }

        if (_skipAt == address)
        {
            // Resuming from the debugger's halt here: the guest's own breakpoint at this address comes now.
            _skipAt = null;
            GuestExecuteBreakpoint(address);
            return;
        }

        if (_vm.HasCodeBreakpoint(address))
        {
            DebugSite before = Site;
            Site = DebugSite.Instruction;
            object? tag = _vm.CodeBreakpointDecision(_core, address);
            Site = before;
            if (tag is not null)
            {
                HaltAt(address, HaltReason.Breakpoint, tag);
                return;
            }

            // Filtered out: the instruction executes as if there were no breakpoint (an execute monitor may still trap).
        }

        if (_vm.HasExecuteMonitorAt(address))
        {
            DebugSite before = Site;
            Site = DebugSite.Instruction;
            bool halted = _vm.OnMonitoredExecution(_core, address);
            Site = before;
            if (halted && !_vm.StopRequested)
            {
                // As after a breakpoint: the instruction runs once on resume, then the range traps again.
                _skipAt = address;
                Sync(DebugSite.Instruction);
            }

            if (halted)
            {
                return;
            }
        }

        GuestExecuteBreakpoint(address);
    }

    /// <summary>
    /// The guest's execute breakpoints at <paramref name="address"/> (SDM Vol. 3B 18.3.1.1): a fault-like #DB before the
    /// instruction, unless RFLAGS.RF applies to it (<see cref="ResumeFlagApplies"/>: a handler's IRET with RF set returns
    /// to the instruction, which then runs).
    /// </summary>
    private void GuestExecuteBreakpoint(ulong address)
    {
        if (_core.GuestBreakpoints.ExecuteHits(address) is uint hits and not 0 && !ResumeFlagApplies(address))
        {
            RaiseDebugException(address, hits);
        }
    }

    /// <summary>
    /// True when RFLAGS.RF is set for the instruction at <paramref name="address"/>. The processor clears RF after
    /// exactly one instruction (SDM Vol. 3B 18.3.1.1); the engine clears it only at the end of the translation block
    /// (QEMU's <c>gen_eob</c> resets it for a block translated with RF set). Whatever sets RF (IRET, the debugger's
    /// register write, a task switch) ends the block, so RF in the engine is the guest's only for the first instruction
    /// of a block: later in the same block it is left over.
    /// </summary>
    private bool ResumeFlagApplies(ulong address) =>
        (_core.ReadRegister(GuestRegister.Rflags) & FlagRf) != 0 && address == _core.Context.CurrentBlockStart;

    /// <summary>
    /// Delivers #DB to the guest with B0–B3 of DR6 set to <paramref name="hits"/> (SDM Vol. 3B 18.2.3: the processor
    /// clears the others of B0–B3 and leaves the rest of DR6), from the instruction callback at
    /// <paramref name="address"/>: RIP stays at the instruction (a fault before it, or a trap after the one before it),
    /// the block is left for the handler. An RF the engine left over from an earlier instruction of the block is
    /// cleared first, so the pushed RFLAGS has it as the processor would (clear).
    /// </summary>
    private void RaiseDebugException(ulong address, uint hits)
    {
        ulong flags = _core.ReadRegister(GuestRegister.Rflags);
        if ((flags & FlagRf) != 0 && !ResumeFlagApplies(address))
        {
            _core.WriteRegister(GuestRegister.Rflags, flags & ~FlagRf);
        }

        GuestDebugRegisters dr = _core.DebugRegisters;
        dr.Dr6 = (dr.Dr6 & ~0xFUL) | hits;
        DebugSite before = Site;
        Site = DebugSite.Instruction;
        _core.Events.DeliverFault(DebugVector, null);
        Site = before;
        if (!_vm.StopRequested)
        {
            _restarted = true;
            _core.Context.RaiseAttention();
        }
    }

    /// <summary>The stepping core executed HLT: the step ends there (after the HLT), before the core sleeps.</summary>
    public void StepEndedAtHlt()
    {
        _stepRequested = false;
        Volatile.Write(ref _runToActive, false);
        _vm.StepEnded(_core);
        DebugSite before = Site;
        Site = DebugSite.BeforeRun;
        _vm.Halt(_core, HaltReason.Step);
        Site = before;
    }

    private void HaltAt(ulong address, HaltReason reason, object? tag = null)
    {
        _skipAt = address;
        DebugSite before = Site;
        Site = DebugSite.Instruction;
        _vm.Halt(_core, reason, tag: tag ?? address);
        Site = before;
        if (_vm.StopRequested)
        {
            return;
        }

        // Restart at RIP (wherever the debugger left it): the block boundary comes first, then this callback again.
        Sync(DebugSite.Instruction);
    }

    private void Sync(DebugSite site)
    {
        int version = _vm.CodeBreakpointVersion;
        bool stepping = Volatile.Read(ref _stepRequested);
        bool hooksChanged = version != _appliedVersion || stepping != _appliedStepping || CurrentRunTo != _appliedRunTo || _vm.MonitorVersion != _appliedMonitorVersion
            || InstructionWatch.HidesSyscallEnable(_core) != _appliedHideSce || InstructionWatch.IsWanted(_core) != _appliedWatch
            || _core.InstructionEvents.Changed || _core.GuestBreakpoints.Changed;
        bool stepStarting = stepping && !_stepStarted;
        switch (site)
        {
            case DebugSite.BeforeRun:
                if (hooksChanged)
                {
                    ApplyHooks(version, stepping);
                }

                if (stepStarting)
                {
                    _stepStarted = true;
                    _stepArmed = false;
                }

                return;

            case DebugSite.InsideInstruction:
                // The rest of the block runs as translated; from here the next callback is the next instruction's.
                if (stepStarting)
                {
                    // Halted in the middle of an instruction: the step is that instruction (the next callback ends it;
                    // an I/O instruction ends it itself when it completes). Halted after an I/O instruction completed
                    // (the end of such a step): in a block that calls back before every instruction, the next callback
                    // is the instruction the step executes; in a block translated without, the rest of the block runs
                    // first and the step ends at the next block's first instruction.
                    _stepStarted = true;
                    _stepArmed = !_haltedAfterInstruction || !(_appliedStepping || _appliedWatch || _appliedGuestEvery);
                    _stepBegunInside = !_haltedAfterInstruction;
                }

                if (hooksChanged)
                {
                    _core.Context.RaiseAttention();
                }

                return;

            case DebugSite.Instruction:
                // Leave the block before the instruction (the engine checks for an exit right after the callback); hook
                // changes and a step's start apply at the block boundary that follows.
                Restart();
                _restarted = true;
                _core.Context.RaiseAttention();
                return;

            default:
                // Translated code is dropped only here, where the restart leaves the block before it runs, so that no
                // dropped block is ever linked to the next.
                bool restart = false;
                if (hooksChanged)
                {
                    ApplyHooks(version, stepping);
                    restart = true;
                }

                if (stepStarting)
                {
                    _stepStarted = true;
                    _stepArmed = false;
                    restart = true;
                }

                if (restart)
                {
                    Restart();
                }

                return;
        }
    }

    private void ApplyHooks(int version, bool stepping)
    {
        // The instruction watch (!mode) needs every instruction called back, like
        // stepping; the callbacks then also serve breakpoints and execute monitors.
        bool hideSce = InstructionWatch.HidesSyscallEnable(_core);
        bool watch = InstructionWatch.IsWanted(_core);
        GuestBreakpoints guest = _core.GuestBreakpoints;
        bool guestChanged = guest.Changed && guest.Arm();

        // The guest's data and I/O breakpoints trap before the next instruction: every instruction is called back.
        bool guestEvery = guest.NeedsEveryInstruction;
        bool everyInstruction = stepping || watch || guestEvery;
        int monitorVersion = _vm.MonitorVersion;
        if (monitorVersion != _appliedMonitorVersion || guestChanged || everyInstruction != (_appliedStepping || _appliedWatch || _appliedGuestEvery))
        {
            // While stepping, the unbounded hook calls back before every instruction: execute ranges would call twice.
            var (data, execute) = _vm.MonitorHooks();
            _core.Context.SetMonitorHooks([.. data, .. guest.DataPages], everyInstruction ? [] : execute);
            _appliedMonitorVersion = monitorVersion;
        }

        ulong? runTo = CurrentRunTo;
        IReadOnlyCollection<ulong> breakpoints = _vm.InstructionHookSnapshot();
        if (guest.ExecuteAddresses.Count > 0)
        {
            breakpoints = [.. breakpoints.Union(guest.ExecuteAddresses)];
        }

        _core.Context.SetInstructionHooks(runTo is ulong target && !breakpoints.Contains(target) ? [.. breakpoints, target] : breakpoints, everyInstruction);
        _core.Context.SetSyscallEnableHidden(hideSce);
        _core.InstructionEvents.Apply();
        _appliedVersion = version;
        _appliedStepping = stepping;
        _appliedGuestEvery = guestEvery;
        _appliedHideSce = hideSce;
        if (watch != _appliedWatch)
        {
            _core.Watch.Reset();
        }

        _appliedWatch = watch;
        _appliedRunTo = runTo;
    }

    /// <summary>From an instruction callback of the driver's (<see cref="InstructionWatch"/>), after it halted the VM or
    /// must run the instruction again: leaves the block before the instruction; the block boundary comes first (hook
    /// changes, a step's start), then the callback again. <paramref name="pass"/>: the address where a breakpoint or
    /// execute monitor already acted (it lets the instruction run once, as after a breakpoint's halt).</summary>
    public void RestartAt(ulong? pass)
    {
        _skipAt = pass;
        Sync(DebugSite.Instruction);
    }

    /// <summary>Leaves the block and runs from RIP again. Away from the block's first instruction an RF still set is left
    /// over (<see cref="ResumeFlagApplies"/>): it is cleared, or the new block, which starts here, would take it as
    /// the guest's.</summary>
    private void Restart()
    {
        IExecutionContext context = _core.Context;
        ulong flags = context.ReadRegister(GuestRegister.Rflags);
        if ((flags & FlagRf) != 0 && _core.LinearInstructionPointer() != context.CurrentBlockStart)
        {
            context.WriteRegister(GuestRegister.Rflags, flags & ~FlagRf);
        }

        context.WriteRegister(GuestRegister.Rip, context.ReadRegister(GuestRegister.Rip));
    }
}
