// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;

namespace HyperDbgRemote.VmxDriver;

/// <content>The platform the cores see: the interrupt controller on core 0's INTR and the guest's time base.</content>
public sealed partial class VirtualMachine
{
    private VirtualClock? _clock;

    /// <summary>The host's TSC when the VM last halted.</summary>
    private ulong _tscFrozenSince;

    private bool _tscHalted;

    private long _tscFrozenTicks;

    /// <summary>Host TSC ticks that passed while the VM was halted, all added up: every core's TSC lags the host's by this
    /// (plus its own WRMSR adjustments).</summary>
    internal long TscFrozenTicks => Interlocked.Read(ref _tscFrozenTicks);

    /// <summary>
    /// The guest's time base (the PIT and the RTC), or null. While the VM is halted (a debugger's break, an initial
    /// break, a halting event) it is frozen, so guest time counts only time the guest could run: a guest halted for a
    /// minute sees no minute pass and gets no minute of timer interrupts when it continues, and its TSC stands still
    /// too.
    /// </summary>
    public VirtualClock? Clock => _clock;

    /// <summary>
    /// Wires the platform before the VM starts: <paramref name="controller"/>'s INTR goes to the bootstrap processor
    /// (core 0), as the 8259's does on a PC without an APIC, and <paramref name="clock"/> becomes the guest's time
    /// base. Cores added later are wired too.
    /// </summary>
    /// <exception cref="InvalidOperationException">The VM started already, or is wired already.</exception>
    public void ConnectPlatform(IInterruptController controller, VirtualClock clock)
    {
        ArgumentNullException.ThrowIfNull(controller);
        ConnectPlatform(core => core == 0 ? controller : null, clock);
    }

    /// <summary>
    /// Wires the platform before the VM starts: core n's INTR comes from <paramref name="controllerForCore"/>(n) (null:
    /// none), as each core's local APIC is its interrupt controller, and <paramref name="clock"/> becomes the guest's
    /// time base. Cores added later are wired too.
    /// </summary>
    /// <exception cref="InvalidOperationException">The VM started already, or is wired already.</exception>
    public void ConnectPlatform(Func<int, IInterruptController?> controllerForCore, VirtualClock clock)
    {
        ArgumentNullException.ThrowIfNull(controllerForCore);
        ArgumentNullException.ThrowIfNull(clock);
        lock (_gate)
        {
            if (_started || _platformControllers is not null)
            {
                throw new InvalidOperationException("The platform is connected once, before the VM starts.");
            }

            _platformControllers = controllerForCore;
            _clock = clock;
            clock.PaceBy(PaceClock);
            clock.ReportFailuresTo(ex => RequestStop(new VmStopInfo(VmStopReason.Fault, Report: $"the platform's timers (host timer thread) failed: {ex}")));
            if (_halted)
            {
                clock.Freeze();
            }
        }

        ConnectCores();
    }

    private Func<int, IInterruptController?>? _platformControllers;

    /// <summary>Called by <see cref="AddCores"/> and <see cref="ConnectPlatform(Func{int, IInterruptController?}, VirtualClock)"/>:
    /// connects each core not connected yet to its controller, once both the platform and the cores exist.</summary>
    private void ConnectCores()
    {
        if (_platformControllers is not { } controllers)
        {
            return;
        }

        foreach (Vcpu core in _cores)
        {
            if (!core.Interrupts.IsConnected && controllers(core.Index) is IInterruptController controller)
            {
                core.Interrupts.Connect(controller);
            }

            core.Intercepts.Apply(); // RDTSC now reads the clock
        }
    }

    /// <summary>
    /// The clock's pacer (<see cref="VirtualClock.PaceBy"/>): while a core runs guest code, due timers are left to the
    /// running cores (attention: they fire them at their next block boundary), so a core that does not get the host's
    /// CPU holds guest time back rather than letting timer events pile up on an interrupt line it cannot take them from;
    /// with every core in HLT (or not started) the host timer fires them.
    /// </summary>
    private bool PaceClock()
    {
        bool running = false;
        lock (_gate)
        {
            foreach (Vcpu core in _cores)
            {
                if (core.State == CoreState.Running)
                {
                    running = true;
                    core.RaiseAttention();
                }
            }
        }

        return !running;
    }

    /// <summary>Sets the halted state and freezes or thaws guest time with it. Under <c>_gate</c>.</summary>
    private void SetHaltedLocked(bool halted)
    {
        _halted = halted;
        SetTscHaltedLocked(halted);
        SetGuestTimeFrozenLocked(halted);
    }

    /// <summary>
    /// Stops or restarts the guests' TSC with the VM's halted state, once per change: the host ticks spent halted are
    /// added up (<see cref="TscFrozenTicks"/>) and every core's TSC offset is lowered by them before it runs again
    /// (<see cref="Vcpu.SyncTsc"/>), as KVM and VMware offset a guest's TSC. A single step is not halted (its instruction
    /// runs), so the TSC stays monotonic across steps. Under <c>_gate</c>.
    /// </summary>
    private void SetTscHaltedLocked(bool halted)
    {
        if (halted == _tscHalted)
        {
            return;
        }

        ulong host = _engine.ReadHostTimeStampCounter();
        if (halted)
        {
            _tscFrozenSince = host;
        }
        else
        {
            Interlocked.Add(ref _tscFrozenTicks, (long)(host - _tscFrozenSince));
        }

        _tscHalted = halted;
    }

    /// <summary>Freezes or thaws guest time, once per change (the clock counts its freezes). A single step runs with
    /// time frozen, so it is not tied to <c>_halted</c>. Under <c>_gate</c>.</summary>
    private void SetGuestTimeFrozenLocked(bool frozen)
    {
        if (frozen == _guestTimeFrozen)
        {
            return;
        }

        _guestTimeFrozen = frozen;
        if (_clock is VirtualClock clock)
        {
            if (frozen)
            {
                clock.Freeze();
            }
            else
            {
                clock.Thaw();
            }
        }
    }

    /// <summary>True when a core must run the VM's part of the block-boundary path now (a pause, a requested halt or a
    /// stop).</summary>
    internal bool WantsAttention => _stopRequested || _haltRequested || Volatile.Read(ref _pauseRequested);

    /// <summary>INTR rose for <paramref name="core"/>: a core sleeping in HLT with IF set wakes to take it.</summary>
    internal void WakeForInterrupt(Vcpu core)
    {
        lock (_gate)
        {
            if (core.State == CoreState.Idle && core.IdleInterruptible && !_stopRequested)
            {
                core.State = CoreState.Running;
                Monitor.PulseAll(_gate);
            }
        }
    }
}
