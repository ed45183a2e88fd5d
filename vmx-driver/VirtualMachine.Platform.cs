// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;

namespace HyperDbgRemote.VmxDriver;

/// <content>The platform the cores see: the interrupt controller on core 0's INTR and the guest's time base.</content>
public sealed partial class VirtualMachine
{
    private VirtualClock? _clock;
    private bool _clockFrozen;

    /// <summary>
    /// The guest's time base (the PIT and the RTC), or null. While the VM is halted (a debugger's break, an initial
    /// break, a halting event) it is frozen, so guest time counts only time the guest could run: a guest halted for a
    /// minute sees no minute pass and gets no minute of timer interrupts when it continues. (RDTSC reads the host's
    /// counter: the engine, Unicorn 2.1.1, cannot hook it.)
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
        ArgumentNullException.ThrowIfNull(clock);
        lock (_gate)
        {
            if (_started || _platformController is not null)
            {
                throw new InvalidOperationException("The platform is connected once, before the VM starts.");
            }

            _platformController = controller;
            _clock = clock;
            if (_halted)
            {
                clock.Freeze();
                _clockFrozen = true;
            }
        }

        if (_cores.Count > 0)
        {
            _cores[0].Interrupts.Connect(controller);
        }
    }

    private IInterruptController? _platformController;

    /// <summary>Called by <see cref="AddCores"/>: connects core 0 when the platform was connected first.</summary>
    private void ConnectCores()
    {
        if (_platformController is not null && _cores.Count > 0 && !_cores[0].Interrupts.IsConnected)
        {
            _cores[0].Interrupts.Connect(_platformController);
        }
    }

    /// <summary>Sets the halted state and freezes or thaws guest time with it. Under <c>_gate</c>.</summary>
    private void SetHaltedLocked(bool halted)
    {
        _halted = halted;
        SetClockFrozenLocked(halted);
    }

    /// <summary>
    /// Freezes or thaws guest time, once per change: a step leaves the VM halted-then-running without a resume (a
    /// single step with time frozen, a step over with time running), and the halt that ends it must not freeze the clock
    /// a second time, or the next resume would leave it frozen for good. Under <c>_gate</c>.
    /// </summary>
    private void SetClockFrozenLocked(bool frozen)
    {
        if (frozen == _clockFrozen || _clock is not VirtualClock clock)
        {
            return;
        }

        _clockFrozen = frozen;
        if (frozen)
        {
            clock.Freeze();
        }
        else
        {
            clock.Thaw();
        }
    }

    /// <summary>True when a core must run the VM's part of the block-boundary path now (a pause or a stop).</summary>
    internal bool WantsAttention => _stopRequested || Volatile.Read(ref _pauseRequested);

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
