// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <content>Halting, pausing, resuming and stopping; the baton between cores.</content>
public sealed partial class VirtualMachine
{
    /// <summary>
    /// Halts the whole VM from an exit handler, on the exiting core's thread: raises <see cref="Halted"/> and blocks
    /// until <see cref="Resume"/> or <see cref="Stop"/>. No core executes a guest instruction meanwhile.
    /// </summary>
    public void Halt(Vcpu core, HaltReason reason, IoExit? exit = null, object? tag = null)
    {
        ArgumentNullException.ThrowIfNull(core);
        Halt(new VmHaltInfo(core, reason, exit, tag));
    }

    /// <summary>Halts the VM from <see cref="IVmExitHandler.OnMemoryAccess"/> (<see cref="HaltReason.Event"/>), inside
    /// the access: the core resumes by completing it.</summary>
    public void Halt(Vcpu core, MemoryAccessExit access, object? tag)
    {
        ArgumentNullException.ThrowIfNull(core);
        ArgumentNullException.ThrowIfNull(access);
        access.Halted = true;
        Halt(new VmHaltInfo(core, HaltReason.Event, null, tag) { Access = access });
    }

    /// <summary>Halts the VM from <see cref="IVmExitHandler.OnGuestEvent"/> (<see cref="HaltReason.Event"/>), inside the
    /// event: the core resumes by completing it (skipped if <see cref="GuestEventExit.SkipInstruction"/> is set then).</summary>
    public void Halt(Vcpu core, GuestEventExit exit, object? tag)
    {
        ArgumentNullException.ThrowIfNull(core);
        ArgumentNullException.ThrowIfNull(exit);
        Halt(new VmHaltInfo(core, HaltReason.Event, null, tag) { GuestEvent = exit });
    }

    private void Halt(VmHaltInfo info)
    {
        Vcpu core = info.Core;
        HaltReason reason = info.Reason;
        lock (_gate)
        {
            if (_stopRequested)
            {
                return;
            }

            SetHaltedLocked(true);
            info.Sequence = ++_haltSequence;
            _haltInfo = info;
            _pauseRequested = false;
            Monitor.PulseAll(_gate);
        }

        if (reason != HaltReason.Step && core.Debug.IsStepping)
        {
            core.Debug.CancelStep();
            StepEnded(core);
        }

        Halted?.Invoke(this, info);
        lock (_gate)
        {
            // Halted, then (after a step of another core took the baton) until this core has the baton again.
            while (!_stopRequested && (_halted || (_cores.Count > 1 && _batonOwner != core.Index)))
            {
                if (!_halted && _batonOwner == -1)
                {
                    _batonOwner = core.Index;
                    break;
                }

                Monitor.Wait(_gate);
            }
        }

        core.SyncTsc();
        if (core.Debug.Site == Internal.Execution.DebugSite.InsideInstruction)
        {
            core.Debug.AfterHaltInsideInstruction();
        }
    }

    /// <summary>
    /// Breaks in: asks the running core to halt the VM at its next instruction boundary and waits until it has.
    /// Returns true once halted (at once if it already was), false on timeout or when the run has ended.
    /// </summary>
    public bool Pause(TimeSpan timeout)
    {
        lock (_gate)
        {
            if (_stopRequested || !_started)
            {
                return false;
            }

            if (!_halted)
            {
                _pauseRequested = true;
                foreach (Vcpu core in _cores)
                {
                    core.RaiseAttention();
                }

                if (_cores.TrueForAll(c => c.State != CoreState.Running))
                {
                    // Every core sits in HLT: nothing executes, so the VM is halted now.
                    SetHaltedLocked(true);
                    _pauseRequested = false;
                    _haltInfo = new VmHaltInfo(_cores[0], HaltReason.BreakIn, null, null) { Sequence = ++_haltSequence };
                }
            }

            DateTime deadline = DateTime.UtcNow + timeout;
            while (!_halted && !_stopRequested)
            {
                TimeSpan left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || !Monitor.Wait(_gate, left))
                {
                    break;
                }
            }

            return _halted;
        }
    }

    /// <summary>
    /// Asks the running core to halt the VM at its next block boundary with <paramref name="reason"/> and
    /// <paramref name="tag"/> (a driver-side watch, e.g. a kernel panic), without waiting: callable from any thread,
    /// including a device callback on a core's thread (the halt then comes after the current block). A halt for another
    /// reason meanwhile does not cancel it: it is taken at the first block boundary after that halt ends. Ignored when
    /// the run has ended.
    /// </summary>
    public void RequestHalt(HaltReason reason, object? tag)
    {
        lock (_gate)
        {
            if (_stopRequested)
            {
                return;
            }

            _requestedHalt = (reason, tag);
            _haltRequested = true;
        }

        foreach (Vcpu core in _cores)
        {
            core.RaiseAttention();
        }
    }

    /// <summary>True once, for the first core to run, when the VM was started with an initial break.</summary>
    internal bool TakeInitialBreak() => Interlocked.Exchange(ref _initialBreak, 0) != 0;

    /// <summary>Resumes a halted VM: every core continues exactly where it stopped. False when it was not halted.</summary>
    public bool Resume()
    {
        lock (_gate)
        {
            if (!_halted)
            {
                return false;
            }

            SetHaltedLocked(false);
            _haltInfo = null;
            Monitor.PulseAll(_gate);
            return true;
        }
    }

    /// <summary>Ends the run (cores stop at their next block boundary) and waits for every core to finish.</summary>
    public void Stop()
    {
        RequestStop(new VmStopInfo(VmStopReason.Requested));
        foreach (Vcpu core in _cores)
        {
            core.Join();
        }
    }

    /// <summary>Asks the run to end (from any thread, including a device on a core's thread) without waiting.</summary>
    public void RequestStop(VmStopInfo info)
    {
        lock (_gate)
        {
            _pendingStop ??= info;
            if (_stopRequested)
            {
                return;
            }

            _stopRequested = true;
            SetHaltedLocked(false);
            Monitor.PulseAll(_gate);
        }

        foreach (Vcpu core in _cores)
        {
            core.RaiseAttention();
        }

        if (!_started)
        {
            FinishStop();
        }
    }

    /// <summary>Called on a core's thread at a block boundary when its slot asks for attention or its slice ended.</summary>
    internal void OnBlockBoundary(Vcpu core)
    {
        if (_stopRequested)
        {
            core.StopEngine();
            return;
        }

        bool pause;
        (HaltReason Reason, object? Tag)? requested;
        lock (_gate)
        {
            requested = _halted ? null : _requestedHalt;
            if (requested is not null)
            {
                _requestedHalt = null;
                _haltRequested = false;
            }

            pause = requested is null && _pauseRequested && !_halted;
        }

        if (requested is { } halt)
        {
            Halt(core, halt.Reason, tag: halt.Tag);
        }
        else if (pause)
        {
            Halt(core, HaltReason.BreakIn);
        }

        if (_cores.Count > 1 && Volatile.Read(ref _steppingCore) != core.Index)
        {
            YieldBaton(core);
        }

        lock (_gate)
        {
            if (_stopRequested)
            {
                core.StopEngine();
            }
            else if (!_pauseRequested && _requestedHalt is null)
            {
                core.ClearAttention();
            }
        }
    }

    internal bool AcquireBaton(Vcpu core)
    {
        lock (_gate)
        {
            while (!_stopRequested)
            {
                if (!_halted && (_batonOwner == -1 || _batonOwner == core.Index))
                {
                    _batonOwner = core.Index;
                    return true;
                }

                Monitor.Wait(_gate);
            }

            return false;
        }
    }

    private void YieldBaton(Vcpu core)
    {
        lock (_gate)
        {
            int next = NextRunnable(core.Index);
            if (next < 0)
            {
                return;
            }

            _batonOwner = next;
            Monitor.PulseAll(_gate);
            while (!_stopRequested && (_batonOwner != core.Index || _halted))
            {
                if (_batonOwner == -1 && !_halted)
                {
                    _batonOwner = core.Index;
                    break;
                }

                Monitor.Wait(_gate);
            }
        }
    }

    private int NextRunnable(int current)
    {
        for (int i = 1; i < _cores.Count; i++)
        {
            int candidate = (current + i) % _cores.Count;
            if (_cores[candidate].State == CoreState.Running)
            {
                return candidate;
            }
        }

        return -1;
    }

    /// <summary>
    /// Called on a core's thread after HLT: the core gives up the baton and sleeps until <see cref="Wake"/> (an event
    /// injected into it) or the VM stops; woken, it takes the baton again. False when the VM stops. When every core
    /// sleeps and none can be woken by an interrupt (IF clear, or no interrupt controller), nothing can wake them and
    /// the VM stops (all cores halted).
    /// </summary>
    internal bool IdleUntilWoken(Vcpu core)
    {
        lock (_gate)
        {
            if (core.HasPendingInjection || core.Interrupts.CanWake())
            {
                return !_stopRequested; // injected or INTR raised between HLT and here: no sleep
            }

            // With IF set and an interrupt controller, INTR wakes the core (WakeForInterrupt); with IF clear only an
            // injected event does, as on a CPU.
            core.IdleInterruptible = core.Interrupts.IsConnected && (core.ReadRegister(GuestRegister.Rflags) & (1UL << 9)) != 0;
            core.State = CoreState.Idle;
            if (_batonOwner == core.Index)
            {
                int next = NextRunnable(core.Index);
                _batonOwner = next;
            }

            Monitor.PulseAll(_gate);
            StopIfNothingCanRunLocked();

            while (!_stopRequested && core.State == CoreState.Idle)
            {
                Monitor.Wait(_gate);
            }

            return !_stopRequested && AcquireBaton(core);
        }
    }

    /// <summary>Wakes a core sleeping in HLT (an event was injected into it); a running core is left alone.</summary>
    internal void Wake(Vcpu core)
    {
        lock (_gate)
        {
            if (core.State == CoreState.Idle && !_stopRequested)
            {
                core.State = CoreState.Running;
                Monitor.PulseAll(_gate);
            }
        }
    }

    internal void CoreExited(Vcpu core, string? fault)
    {
        bool all;
        lock (_gate)
        {
            if (fault is not null)
            {
                _pendingStop = new VmStopInfo(VmStopReason.Fault, null, fault);
                _stopRequested = true;
            }

            if (_batonOwner == core.Index)
            {
                _batonOwner = -1;
            }

            _exitedCores++;
            all = _exitedCores == _cores.Count;
            Monitor.PulseAll(_gate);
        }

        if (fault is not null)
        {
            foreach (Vcpu c in _cores)
            {
                c.RaiseAttention();
            }
        }

        if (all)
        {
            FinishStop();
        }
    }

    private void FinishStop()
    {
        lock (_gate)
        {
            if (_stoppedEvent.IsSet)
            {
                return;
            }

            _stopInfo = _pendingStop ?? new VmStopInfo(VmStopReason.Requested);
            SetHaltedLocked(false);
            _haltInfo = null;
            _stoppedEvent.Set();
        }

        Stopped?.Invoke(this, _stopInfo);
    }
}
