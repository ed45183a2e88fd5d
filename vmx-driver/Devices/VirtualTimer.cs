// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// A one-shot timer on <see cref="VirtualClock"/> guest time. A device re-arms it from its callback for periodic
/// events, always from the current guest time, so periods missed while the host was slow coalesce into one callback
/// (as an edge-triggered IRQ that is already pending would) instead of arriving as a burst.
/// </summary>
public sealed class VirtualTimer
{
    private readonly VirtualClock _clock;
    private readonly Action _callback;

    internal VirtualTimer(VirtualClock clock, Action callback)
    {
        _clock = clock;
        _callback = callback;
    }

    /// <summary>The deadline in guest nanoseconds, or null when disarmed.</summary>
    public long? Deadline => _clock.DeadlineOf(this);

    /// <summary>Guarded by the clock's lock.</summary>
    internal long? DeadlineLocked { get; set; }

    /// <summary>Fires once guest time reaches <paramref name="deadlineNanoseconds"/> (at once if it already has).</summary>
    public void ArmAt(long deadlineNanoseconds) => _clock.Arm(this, deadlineNanoseconds);

    /// <summary>Disarms the timer.</summary>
    public void Cancel() => _clock.Arm(this, null);

    internal void Fire() => _callback();
}
