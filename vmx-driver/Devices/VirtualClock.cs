// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// The guest's one time base, for the PIT, the RTC and the TSC. Guest time starts at 0 when the machine is created
/// and advances with the host's monotonic clock (an injected <see cref="TimeProvider"/>), except while frozen: a
/// debugger halting the VM freezes it, so a guest halted for a minute sees no minute pass — no timer interrupts storm
/// in when it continues, and its wall clock (the RTC) falls behind the host's by the time it was halted, as with
/// QEMU's <c>-rtc clock=vm</c>. Device timers (<see cref="VirtualTimer"/>) fire on guest time: a host timer is armed
/// for the earliest deadline and disarmed while frozen. Thread-safe.
/// </summary>
public sealed class VirtualClock : IDisposable
{
    /// <summary>The TSC frequency the guest sees (1 GHz: one tick a nanosecond of guest time).</summary>
    public const long TscFrequencyHz = 1_000_000_000;

    private const long NanosecondsPerSecond = 1_000_000_000;
    private readonly object _lock = new();
    private readonly TimeProvider _host;
    private readonly long _origin;
    private readonly List<VirtualTimer> _timers = [];
    private readonly ITimer _hostTimer;
    private long _frozenHostTicks;
    private long _freezeStart;
    private int _freezeDepth;
    private bool _disposed;

    /// <summary>Starts guest time at 0 now; <paramref name="host"/> defaults to the system's clock.</summary>
    public VirtualClock(TimeProvider? host = null)
    {
        _host = host ?? TimeProvider.System;
        _origin = _host.GetTimestamp();
        PowerOnUtcTime = _host.GetUtcNow();
        // The host timer holds the clock weakly: a machine dropped without Dispose does not keep its timers firing.
        _hostTimer = _host.CreateTimer(
            static state =>
            {
                if (((WeakReference<VirtualClock>)state!).TryGetTarget(out VirtualClock? clock))
                {
                    clock.RunDueTimers();
                }
            },
            new WeakReference<VirtualClock>(this),
            Timeout.InfiniteTimeSpan,
            Timeout.InfiniteTimeSpan);
    }

    /// <summary>The host's wall-clock time (UTC) when the machine was created: the RTC starts from it.</summary>
    public DateTimeOffset PowerOnUtcTime { get; }

    /// <summary>Guest time since power-on, in nanoseconds; it stands still while frozen.</summary>
    public long NowNanoseconds
    {
        get
        {
            lock (_lock)
            {
                return NowLocked();
            }
        }
    }

    /// <summary>Guest time since power-on.</summary>
    public TimeSpan Now => TimeSpan.FromTicks(NowNanoseconds / 100);

    /// <summary>True while frozen.</summary>
    public bool IsFrozen
    {
        get
        {
            lock (_lock)
            {
                return _freezeDepth > 0;
            }
        }
    }

    /// <summary>The guest's time-stamp counter: guest nanoseconds at <see cref="TscFrequencyHz"/>.</summary>
    public ulong ReadTsc() => (ulong)NowNanoseconds;

    /// <summary>Stops guest time (nestable: each call needs a <see cref="Thaw"/>). Call it when the VM halts.</summary>
    public void Freeze()
    {
        lock (_lock)
        {
            if (_freezeDepth++ == 0)
            {
                _freezeStart = _host.GetTimestamp();
                _hostTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>Lets guest time run again from where it stood. Call it when the VM resumes.</summary>
    /// <exception cref="InvalidOperationException">The clock is not frozen.</exception>
    public void Thaw()
    {
        lock (_lock)
        {
            if (_freezeDepth == 0)
            {
                throw new InvalidOperationException("The virtual clock is not frozen.");
            }

            if (--_freezeDepth == 0)
            {
                _frozenHostTicks += _host.GetTimestamp() - _freezeStart;
                ArmHostTimerLocked();
            }
        }
    }

    /// <summary>A timer that calls <paramref name="callback"/> (on a host timer thread, or the thread that ran
    /// <see cref="RunDueTimers"/>) once guest time reaches its deadline. Callbacks take their device's lock.</summary>
    public VirtualTimer CreateTimer(Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new VirtualTimer(this, callback);
        lock (_lock)
        {
            _timers.Add(timer);
        }

        return timer;
    }

    /// <summary>The earliest armed deadline in guest nanoseconds, or null.</summary>
    public long? NextDeadline
    {
        get
        {
            lock (_lock)
            {
                return NextDeadlineLocked();
            }
        }
    }

    /// <summary>Fires every timer whose deadline has passed (each at most once per call) and returns how many fired.
    /// The host timer calls this; a caller may too (it is how tests drive time with a fake provider).</summary>
    public int RunDueTimers()
    {
        List<VirtualTimer> due;
        lock (_lock)
        {
            if (_disposed || _freezeDepth > 0)
            {
                return 0;
            }

            long now = NowLocked();
            due = [];
            foreach (VirtualTimer t in _timers)
            {
                if (t.DeadlineLocked is long d && d <= now)
                {
                    t.DeadlineLocked = null;
                    due.Add(t);
                }
            }
        }

        foreach (VirtualTimer t in due)
        {
            t.Fire();
        }

        lock (_lock)
        {
            ArmHostTimerLocked();
        }

        return due.Count;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _timers.Clear();
        }

        _hostTimer.Dispose();
    }

    internal void Arm(VirtualTimer timer, long? deadline)
    {
        lock (_lock)
        {
            timer.DeadlineLocked = deadline;
            ArmHostTimerLocked();
        }
    }

    internal long? DeadlineOf(VirtualTimer timer)
    {
        lock (_lock)
        {
            return timer.DeadlineLocked;
        }
    }

    private long NowLocked()
    {
        long host = _freezeDepth > 0 ? _freezeStart : _host.GetTimestamp();
        long ticks = host - _origin - _frozenHostTicks;
        return (long)((Int128)ticks * NanosecondsPerSecond / _host.TimestampFrequency);
    }

    private long? NextDeadlineLocked()
    {
        long? next = null;
        foreach (VirtualTimer t in _timers)
        {
            if (t.DeadlineLocked is long d && (next is null || d < next))
            {
                next = d;
            }
        }

        return next;
    }

    private void ArmHostTimerLocked()
    {
        if (_disposed || _freezeDepth > 0)
        {
            return;
        }

        long? next = NextDeadlineLocked();
        if (next is null)
        {
            _hostTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }

        // Guest time runs at host speed while not frozen, so the host wait is the guest time left, rounded up and at
        // least one tick: a due timer then fires from the host timer's thread, never re-entrantly from Arm.
        long waitNs = next.Value - NowLocked();
        _hostTimer.Change(TimeSpan.FromTicks(Math.Max(1, (waitNs + 99) / 100)), Timeout.InfiniteTimeSpan);
    }
}
