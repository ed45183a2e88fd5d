// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// The guest's one time base, for the PIT, the RTC, the local APIC timer and the TSC. Guest time starts at 0 when the
/// machine is created and advances with the host's monotonic clock (an injected <see cref="TimeProvider"/>), except while
/// frozen: a debugger halting the VM freezes it, so a guest halted for a minute sees no minute pass — no timer interrupts
/// storm in when it continues, and its wall clock (the RTC) falls behind the host's by the time it was halted, as with
/// QEMU's <c>-rtc clock=vm</c>. Device timers (<see cref="VirtualTimer"/>) fire on guest time: a host timer is armed
/// for the earliest deadline and disarmed while frozen. Thread-safe.
/// </summary>
/// <remarks>
/// A machine paces its clock (<see cref="PaceBy"/>): while one of its cores runs guest code, that core fires due timers
/// itself (<see cref="RunDueTimersOnCore"/>, at its next block boundary or when the guest reads its TSC), and guest time
/// does not run past a timer the core owes: it stands at the earliest armed deadline plus
/// <see cref="MaxTimerLatenessNanoseconds"/> until the core fired it, and a core that fires a timer later than that (it did
/// not get the host's CPU, or the host timer ran late) fires it at that guest time, the rest of its lateness taken out of
/// guest time as a freeze is. So the guest sees exactly the timer events whose deadlines lie behind its TSC, however late
/// the host ran: a periodic timer gives one event per period of guest time as the TSC measures it. With no core running
/// guest code (all in HLT, or a clock without a machine) the host timer fires due timers, and a host that fell behind by
/// more than a period gives one event for the periods missed (they coalesce, as on an edge-triggered line).
/// <para>A stall of a core's thread is not guest time (<see cref="WatchStallsOfThisThread"/>): when the host did not run
/// the thread for a while (it preempted it; a garbage collection or a first compilation of our code paused it), the guest
/// does not see that time pass, as a guest on hardware sees no gap between two instructions. It is measured where the
/// core reads guest time: host time since its previous read beyond <see cref="StallFreeNanosecondsPerBlock"/> per
/// translation block run in between (plus <see cref="StallFreeNanosecondsPerRead"/>) is taken out, as a freeze is, but
/// never below a time already read by anyone, so guest time never goes back. A guest polling the PIT and its TSC in a
/// loop (Linux's TSC calibration) sees each iteration take about the same time however the host runs the core.</para>
/// </remarks>
public sealed class VirtualClock : IDisposable
{
    /// <summary>The TSC frequency the guest sees (1 GHz: one tick a nanosecond of guest time).</summary>
    public const long TscFrequencyHz = 1_000_000_000;

    /// <summary>How far guest time may pass an armed deadline before its timer fires (1 ms): under a timer period
    /// this long, a late timer loses no period and takes nothing out of guest time.</summary>
    public const long MaxTimerLatenessNanoseconds = 1_000_000;

    /// <summary>How much host time one translation block may take between two reads of guest time on a core's thread
    /// before the rest counts as a stall (<see cref="WatchStallsOfThisThread"/>): generous for a block that exits to a
    /// device model or reads the TSC (about 0.1–2 µs), far below a host preemption or a garbage collection (tens of µs
    /// to ms).</summary>
    public const long StallFreeNanosecondsPerBlock = 2_000;

    /// <summary>How much host time a read of guest time may follow the previous one by, beyond its blocks' share, before
    /// the rest counts as a stall.</summary>
    public const long StallFreeNanosecondsPerRead = 2_000;

    /// <summary>How often one call of <see cref="RunDueTimers"/> fires one timer at most (a device re-arms from its
    /// callback: a PIT period is two transitions, and a deadline armed in the past must not loop for ever).</summary>
    private const int MaxFiringsPerCall = 4;

    /// <summary>How soon the host timer looks again at a due timer the pacer left to a running core.</summary>
    private static readonly TimeSpan s_pacedRetry = TimeSpan.FromMilliseconds(1);

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
    private Func<bool>? _pacer;
    private bool _owed;
    private Action<Exception>? _failureSink;
    private int _hostTimerFailures;

    /// <summary>The latest guest time read (<see cref="NowNanoseconds"/>): a discounted stall never goes below it.</summary>
    private long _readUpTo;

    /// <summary>The earliest armed deadline (long.MaxValue: none), kept with the timers for <see cref="HasDueTimers"/>,
    /// which cores ask at every I/O instruction without the lock.</summary>
    private long _nextDeadline = long.MaxValue;

    private long _discountedNanoseconds;
    private bool _discountsCoreStalls = true;

    /// <summary>The stall watch of the current thread, if it is a core's (<see cref="WatchStallsOfThisThread"/>).</summary>
    [ThreadStatic]
    private static StallWatch? s_stallWatch;


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
                    clock.OnHostTimer();
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
                DiscountStallOfThisThreadLocked();
                long now = NowLocked();
                _readUpTo = Math.Max(_readUpTo, now);
                return now;
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

    /// <summary>
    /// Hands the firing of due timers to the machine while it runs guest code: when a deadline passes, the host timer
    /// calls <paramref name="fireOnHostThread"/>, which either returns true (no core runs guest code: the host timer
    /// fires the timers, e.g. for a core sleeping in HLT) or asks the running cores to call <see cref="RunDueTimers"/>
    /// at their next block boundary and returns false (the host timer asks again after 1 ms until the timers fired).
    /// Set once, before the machine runs.
    /// </summary>
    public void PaceBy(Func<bool> fireOnHostThread)
    {
        ArgumentNullException.ThrowIfNull(fireOnHostThread);
        lock (_lock)
        {
            _pacer = fireOnHostThread;
        }
    }

    /// <summary>
    /// Where a failure of the host timer's work goes (a timer callback of a device, or the pacer, throwing on the host
    /// timer's thread): there an exception would end the whole process, so it is caught, counted
    /// (<see cref="HostTimerFailures"/>) and handed to <paramref name="onFailure"/>, which the machine uses to stop with
    /// a fault report. Set once, before the machine runs.
    /// </summary>
    public void ReportFailuresTo(Action<Exception> onFailure)
    {
        ArgumentNullException.ThrowIfNull(onFailure);
        lock (_lock)
        {
            _failureSink = onFailure;
        }
    }

    /// <summary>How many runs of the host timer failed (see <see cref="ReportFailuresTo"/>).</summary>
    public int HostTimerFailures => Volatile.Read(ref _hostTimerFailures);

    /// <summary>
    /// Whether stalls of the cores' threads are taken out of guest time (default true; see the remarks). False makes
    /// guest time follow the host's clock however little the cores ran: for a caller that drives the host's time by
    /// hand in big steps (a test's fake clock), where every step would otherwise read as a stall of a running core.
    /// </summary>
    public bool DiscountsCoreStalls
    {
        get => Volatile.Read(ref _discountsCoreStalls);
        set => Volatile.Write(ref _discountsCoreStalls, value);
    }

    /// <summary>Guest nanoseconds taken out of guest time as stalls of the cores' threads, all added up.</summary>
    public long StalledNanoseconds => Interlocked.Read(ref _discountedNanoseconds);

    /// <summary>
    /// Makes the calling thread a core's for this clock: from now on, each of its reads of guest time first takes out
    /// of guest time how long the thread stalled since its previous read (see the remarks), measured against
    /// <paramref name="blocksExecuted"/>, the translation blocks the core has run. Call it on the core's thread before it
    /// runs guest code, and <see cref="RestartStallWatch"/> when it runs guest code again after waiting (HLT).
    /// </summary>
    public void WatchStallsOfThisThread(Func<ulong> blocksExecuted)
    {
        ArgumentNullException.ThrowIfNull(blocksExecuted);
        s_stallWatch = new StallWatch(this, blocksExecuted);
        RestartStallWatch();
    }

    /// <summary>The calling core's thread starts (again) to run guest code: the time since its last read of guest time
    /// (it slept in HLT, or had not started) is no stall.</summary>
    public void RestartStallWatch()
    {
        if (s_stallWatch is { } watch && ReferenceEquals(watch.Clock, this))
        {
            watch.LastHost = _host.GetTimestamp();
            watch.LastBlocks = watch.BlocksExecuted();
        }
    }

    /// <summary>
    /// On a core's thread: takes its stall since its previous read out of guest time, as a freeze does, but no more
    /// than has passed since guest time was last read (by any core or device), so guest time never goes back and a core
    /// that stalled while another ran sees the time the other saw. Nothing while frozen.
    /// </summary>
    private void DiscountStallOfThisThreadLocked()
    {
        if (s_stallWatch is not { } watch || !ReferenceEquals(watch.Clock, this) || !_discountsCoreStalls)
        {
            return;
        }

        long host = _host.GetTimestamp();
        ulong blocks = watch.BlocksExecuted();
        long allowedNs = StallFreeNanosecondsPerRead + ((long)Math.Min(blocks - watch.LastBlocks, (ulong)int.MaxValue) * StallFreeNanosecondsPerBlock);
        long stall = host - watch.LastHost - ToHostTicks(allowedNs);
        watch.LastHost = host;
        watch.LastBlocks = blocks;
        if (stall <= 0 || _disposed || _freezeDepth > 0)
        {
            return;
        }

        long room = RawLocked() - _readUpTo;
        long ns = Math.Min(room, ToNanoseconds(stall));
        long ticks = ToHostTicks(ns); // rounded down: never below what was read
        if (ticks > 0)
        {
            _frozenHostTicks += ticks; // the host timer, now early, finds nothing due and looks again
            _discountedNanoseconds += ToNanoseconds(ticks);
        }
    }

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

    /// <summary>True when a timer's deadline has passed and it has not fired (never while frozen). Read without the lock
    /// (cores ask at every I/O instruction): an answer that a concurrent change made stale is put right by the next
    /// look, and <see cref="RunDueTimersOnCore"/> decides under the lock.</summary>
    public bool HasDueTimers
    {
        get
        {
            long next = Volatile.Read(ref _nextDeadline);
            if (next == long.MaxValue || Volatile.Read(ref _freezeDepth) > 0)
            {
                return false;
            }

            long ticks = _host.GetTimestamp() - _origin - Volatile.Read(ref _frozenHostTicks);
            return next <= ToNanoseconds(ticks);
        }
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

    /// <summary>Fires every timer whose deadline has passed, earliest first and each a few times per call at most, and returns
    /// how many fired. The host timer calls this; a caller may too (it is how tests drive time with a fake provider).
    /// While a core owes the timers (<see cref="PaceBy"/>) it fires them as <see cref="RunDueTimersOnCore"/> does.</summary>
    public int RunDueTimers() => RunDue(onCore: false);

    /// <summary>A core running guest code fires the due timers (see the remarks): one firing more than
    /// <see cref="MaxTimerLatenessNanoseconds"/> after its deadline fires at that guest time, the rest of its lateness
    /// taken out of guest time.</summary>
    public int RunDueTimersOnCore() => RunDue(onCore: true);

    private int RunDue(bool onCore)
    {
        List<VirtualTimer>? fired = null;
        while (true)
        {
            VirtualTimer? next = null;
            lock (_lock)
            {
                if (_disposed || _freezeDepth > 0)
                {
                    break;
                }

                if (onCore)
                {
                    DiscountStallOfThisThreadLocked();
                }

                long raw = RawLocked();
                long deadline = 0;
                foreach (VirtualTimer t in _timers)
                {
                    if (t.DeadlineLocked is long d && d <= raw && (next is null || d < deadline) && FiredCount(fired, t) < MaxFiringsPerCall)
                    {
                        next = t;
                        deadline = d;
                    }
                }

                if (next is null)
                {
                    break;
                }

                // Never below a time already read: a device may have read guest time past the deadline before the
                // timer fired (it went on as the host ran), and guest time does not go back.
                long late = Math.Min(raw - deadline - MaxTimerLatenessNanoseconds, raw - _readUpTo);
                if (late > 0 && (onCore || _owed))
                {

                    _frozenHostTicks += ToHostTicks(late);
                }

                next.DeadlineLocked = null;
                UpdateNextDeadlineLocked();
            }

            (fired ??= []).Add(next);
            next.Fire();
        }

        lock (_lock)
        {
            if (_owed && !(NextDeadlineLocked() is long d && d <= RawLocked()))
            {
                _owed = false;
            }

            ArmHostTimerLocked();
        }

        return fired?.Count ?? 0;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _timers.Clear();
            UpdateNextDeadlineLocked();
        }

        _hostTimer.Dispose();
    }

    internal void Arm(VirtualTimer timer, long? deadline)
    {
        lock (_lock)
        {
            timer.DeadlineLocked = deadline;
            UpdateNextDeadlineLocked();
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

    /// <summary>Guest time; while a core owes a timer, held at the earliest armed deadline plus
    /// <see cref="MaxTimerLatenessNanoseconds"/> until the core fired it.</summary>
    private long NowLocked()
    {
        long raw = RawLocked();
        return _owed && NextDeadlineLocked() is long d && raw > d + MaxTimerLatenessNanoseconds ? d + MaxTimerLatenessNanoseconds : raw;
    }

    /// <summary>Host time since power-on less the time frozen, in nanoseconds.</summary>
    private long RawLocked()
    {
        long host = _freezeDepth > 0 ? _freezeStart : _host.GetTimestamp();
        long ticks = host - _origin - _frozenHostTicks;
        return ToNanoseconds(ticks);
    }

    /// <summary>The host timer: fires due timers here, or leaves them to the running cores (<see cref="PaceBy"/>) and
    /// looks again soon.</summary>
    private void OnHostTimer()
    {
#pragma warning disable CA1031 // A timer callback: an exception here would end the process; it is reported instead.
        try
        {
            RunHostTimer();
        }
        catch (Exception ex)
        {
            Action<Exception>? sink;
            lock (_lock)
            {
                _hostTimerFailures++;
                sink = _failureSink;
                if (!_disposed)
                {
                    // Looks again after the paced retry, not at once: a failure that repeats must not spin the thread.
                    _hostTimer.Change(s_pacedRetry, Timeout.InfiniteTimeSpan);
                }
            }

            sink?.Invoke(ex);
        }
#pragma warning restore CA1031
    }

    private void RunHostTimer()
    {
        Func<bool>? pacer;
        lock (_lock)
        {
            pacer = _pacer;
        }

        if (pacer is null || pacer())
        {
            RunDueTimers();
            return;
        }

        lock (_lock)
        {
            if (!_disposed && _freezeDepth == 0 && NextDeadlineLocked() is long d && d <= RawLocked())
            {
                _owed = true;
                _hostTimer.Change(s_pacedRetry, Timeout.InfiniteTimeSpan);
            }
            else
            {
                ArmHostTimerLocked();
            }
        }
    }

    private static int FiredCount(List<VirtualTimer>? fired, VirtualTimer timer)
    {
        int n = 0;
        if (fired is not null)
        {
            foreach (VirtualTimer t in fired)
            {
                n += ReferenceEquals(t, timer) ? 1 : 0;
            }
        }

        return n;
    }

    /// <summary>Host timestamp ticks as nanoseconds, rounded down.</summary>
    private long ToNanoseconds(long ticks) => (long)((Int128)ticks * NanosecondsPerSecond / _host.TimestampFrequency);

    /// <summary>Nanoseconds as host timestamp ticks, rounded down.</summary>
    private long ToHostTicks(long nanoseconds) => (long)((Int128)nanoseconds * _host.TimestampFrequency / NanosecondsPerSecond);

    private void UpdateNextDeadlineLocked() => Volatile.Write(ref _nextDeadline, NextDeadlineLocked() ?? long.MaxValue);

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
        long waitNs = next.Value - RawLocked();
        _hostTimer.Change(TimeSpan.FromTicks(Math.Max(1, (waitNs + 99) / 100)), Timeout.InfiniteTimeSpan);
    }

    /// <summary>A core thread's last read of guest time, in host ticks and the core's blocks.</summary>
    private sealed class StallWatch(VirtualClock clock, Func<ulong> blocksExecuted)
    {
        public VirtualClock Clock { get; } = clock;

        public Func<ulong> BlocksExecuted { get; } = blocksExecuted;

        public long LastHost { get; set; }

        public ulong LastBlocks { get; set; }
    }
}
