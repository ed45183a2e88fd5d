// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Protocol.Tests.Support;

/// <summary>
/// A clock whose time moves only when the test says, and whose timers fire only when the test fires them: it models a
/// process that was not scheduled (time passed, no timer ran), which a <c>FakeTimeProvider</c> cannot, since it fires
/// every due timer as time advances. Timers are kept in creation order.
/// </summary>
internal sealed class ManualTimerClock : TimeProvider
{
    private readonly List<ManualTimer> _timers = [];
    private long _ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <summary>The timers created so far, oldest first.</summary>
    public IReadOnlyList<ManualTimer> Timers
    {
        get
        {
            lock (_timers)
            {
                return [.. _timers];
            }
        }
    }

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.UnixEpoch.AddTicks(GetTimestamp());

    /// <summary>Moves time on without firing anything.</summary>
    public void Pass(TimeSpan time) => Interlocked.Add(ref _ticks, time.Ticks);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(callback, state);
        lock (_timers)
        {
            _timers.Add(timer);
        }

        return timer;
    }

    /// <summary>A timer that runs its callback when <see cref="Fire"/> is called (until disposed).</summary>
    internal sealed class ManualTimer(TimerCallback callback, object? state) : ITimer
    {
        private volatile bool _disposed;

        public void Fire()
        {
            if (!_disposed)
            {
                callback(state);
            }
        }

        public bool Change(TimeSpan dueTime, TimeSpan period) => !_disposed;

        public void Dispose() => _disposed = true;

        public ValueTask DisposeAsync()
        {
            _disposed = true;
            return ValueTask.CompletedTask;
        }
    }
}
