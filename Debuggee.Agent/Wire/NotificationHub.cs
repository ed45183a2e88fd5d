// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Threading.Channels;
using HyperDbgRemote.Agent.Messaging;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Agent.Wire;

/// <summary>
/// Delivers the agent's messages to every connected host. While no host is connected, messages wait in the session's
/// bounded queue (and what overflows there is counted). Each host has a channel of its own holding up to
/// <see cref="SubscriberCapacity"/> notifications. A host that lags by a full channel holds the pump back, so the
/// backlog stays in the session's queue, with one exception: when several hosts are connected and one has read
/// nothing for the stall timeout, it no longer holds the others back. Its script output and logs are then dropped,
/// counted and announced to it (a dropped-messages notification) when it reads again; halts, runs and stops always
/// reach it.
/// </summary>
internal sealed class NotificationHub : IAsyncDisposable
{
    /// <summary>Notifications a subscriber may lag behind before the pump waits for it. Small on purpose: a notification
    /// may be a batch of thousands of messages, and the session's queue (bounded in count and bytes) is where a backlog
    /// belongs.</summary>
    public const int SubscriberCapacity = 1024;

    private readonly DebuggeeSession _session;
    private readonly object _gate = new();
    private readonly List<Subscriber> _subscribers = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _hasSubscribers = new(0);
    private readonly Task _pump;

    /// <summary>How long a host with a full channel may read nothing before it stops holding other hosts back.</summary>
    public static readonly TimeSpan DefaultStallTimeout = TimeSpan.FromSeconds(2);

    private readonly TimeSpan _stallTimeout;

    public NotificationHub(DebuggeeSession session, TimeSpan? resumeAfter = null, TimeProvider? time = null, TimeSpan? stallTimeout = null)
    {
        _session = session;
        _resumeAfter = resumeAfter;
        _time = time ?? TimeProvider.System;
        _stallTimeout = stallTimeout ?? DefaultStallTimeout;
        _session.Vm.Halted += (_, _) => ArmResumeTimer();
        _pump = Task.Run(PumpAsync);
    }

    private readonly TimeSpan? _resumeAfter;
    private readonly TimeProvider _time;
    private ITimer? _resumeTimer;

    /// <summary>Hosts connected now.</summary>
    public int SubscriberCount
    {
        get
        {
            lock (_gate)
            {
                return _subscribers.Count;
            }
        }
    }

    /// <summary>
    /// With no host connected and the guest halted, resumes it after the user's timeout (--resume-after); without one
    /// it stays halted until a host connects and continues.
    /// </summary>
    private void ArmResumeTimer()
    {
        lock (_gate)
        {
            _resumeTimer?.Dispose();
            _resumeTimer = null;
            if (_resumeAfter is not TimeSpan after || _subscribers.Count > 0 || !_session.Vm.IsHalted)
            {
                return;
            }

            _resumeTimer = _time.CreateTimer(_ => ResumeIfAbandoned(), null, after, Timeout.InfiniteTimeSpan);
        }
    }

    private void ResumeIfAbandoned()
    {
        lock (_gate)
        {
            if (_subscribers.Count > 0 || !_session.Vm.IsHalted)
            {
                return;
            }
        }

        _session.Messages.Log(Events.EventLogLevel.Warning, $"no debugger for {_resumeAfter!.Value.TotalSeconds:0.#} s while halted: the guest resumes (--resume-after).");
        _session.Continue();
    }

    /// <summary>One host's channel: unbounded underneath (halts and stops are never refused), kept to
    /// <see cref="SubscriberCapacity"/> by the pump, with the count of what was dropped for it while it stalled.</summary>
    internal sealed class Subscriber
    {
        private readonly Channel<Notification> _channel = System.Threading.Channels.Channel.CreateUnbounded<Notification>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        private readonly TimeProvider _time;
        private readonly DebuggeeSession _session;
        private int _queued;
        private long _lastRead;
        private long _fullSince;
        private long _unannounced;
        private long _droppedTotal;
        private TaskCompletionSource? _room;
        private bool _closed;

        public Subscriber(TimeProvider time, DebuggeeSession session)
        {
            _time = time;
            _session = session;
            _lastRead = time.GetTimestamp();
            Reader = new SubscriberReader(this);
        }

        public ChannelReader<Notification> Reader { get; }

        public bool IsFull => Volatile.Read(ref _queued) >= SubscriberCapacity;

        /// <summary>The host went away (set by the unsubscribing thread, read by the pump).</summary>
        public bool IsClosed => Volatile.Read(ref _closed);

        /// <summary>How long the host has had a full channel without reading from it (its channel filled while it read
        /// nothing, or it read nothing since subscribing).</summary>
        public TimeSpan StalledFor => _time.GetElapsedTime(Math.Max(Interlocked.Read(ref _lastRead), Interlocked.Read(ref _fullSince)));

        /// <summary>Queues a notification, after the notice of what was dropped before it, if any.</summary>
        public bool TryWrite(Notification n)
        {
            if (TakeDroppedNotice() is Notification notice && _channel.Writer.TryWrite(notice))
            {
                Interlocked.Increment(ref _queued);
            }

            if (!_channel.Writer.TryWrite(n))
            {
                return false; // the host went away
            }

            if (Interlocked.Increment(ref _queued) == SubscriberCapacity)
            {
                Interlocked.Exchange(ref _fullSince, _time.GetTimestamp());
            }

            return true;
        }

        /// <summary>Counts the messages of a notification this host will not get.</summary>
        public void Drop(Notification n)
        {
            long messages = n.BodyCase == Notification.BodyOneofCase.ScriptOutput ? Math.Max(n.ScriptOutput.Texts.Count, 1) : 1;
            Interlocked.Add(ref _unannounced, messages);
            Interlocked.Add(ref _droppedTotal, messages);
        }

        /// <summary>Waits until the channel has room, or <paramref name="limit"/> passes.</summary>
        public async Task WaitForRoomAsync(TimeSpan limit, CancellationToken token)
        {
            var room = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _room, room);
            if (!IsFull || limit <= TimeSpan.Zero)
            {
                return;
            }

            try
            {
                await room.Task.WaitAsync(limit, _time, token).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }

        public void Complete()
        {
            Volatile.Write(ref _closed, true);
            _channel.Writer.TryComplete();
            Volatile.Read(ref _room)?.TrySetResult();
        }

        /// <summary>The notice of what was dropped since the last one, or null; taken by the pump before its next
        /// write or by the host once it has read everything queued, whichever comes first.</summary>
        private Notification? TakeDroppedNotice()
        {
            long count = Volatile.Read(ref _unannounced) == 0 ? 0 : Interlocked.Exchange(ref _unannounced, 0);
            return count == 0
                ? null
                : new Notification { Dropped = new DroppedMessagesNotification { Count = (ulong)count, Total = (ulong)(_session.Messages.DroppedTotal + Interlocked.Read(ref _droppedTotal)) } };
        }

        /// <summary>The host's side: every read makes room and counts as a sign of life.</summary>
        private sealed class SubscriberReader(Subscriber owner) : ChannelReader<Notification>
        {
            public override bool CanCount => true;

            public override int Count => Math.Max(Volatile.Read(ref owner._queued), 0);

            public override Task Completion => owner._channel.Reader.Completion;

            public override bool TryRead([System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out Notification item)
            {
                if (!owner._channel.Reader.TryRead(out item))
                {
                    // Everything queued is read: what was dropped after it is announced now, not with the next write.
                    item = owner.TakeDroppedNotice();
                    return item is not null;
                }

                // Only a read from a full channel is news to the stall clock (a channel that fills again restarts
                // it), so the common read takes no timestamp.
                if (Interlocked.Decrement(ref owner._queued) + 1 >= SubscriberCapacity)
                {
                    Interlocked.Exchange(ref owner._lastRead, owner._time.GetTimestamp());
                    Volatile.Read(ref owner._room)?.TrySetResult();
                }

                return true;
            }

            public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
                owner._channel.Reader.WaitToReadAsync(cancellationToken);
        }
    }

    /// <summary>Subscribes; dispose the returned handle to unsubscribe.</summary>
    public (ChannelReader<Notification> Reader, IDisposable Handle) Subscribe()
    {
        var s = new Subscriber(_time, _session);
        lock (_gate)
        {
            _subscribers.Add(s);
            _resumeTimer?.Dispose();
            _resumeTimer = null;
            if (_subscribers.Count == 1)
            {
                _hasSubscribers.Release();
            }
        }

        return (s.Reader, new Unsubscriber(this, s));
    }

    private sealed class Unsubscriber(NotificationHub hub, Subscriber subscriber) : IDisposable
    {
        public void Dispose()
        {
            lock (hub._gate)
            {
                hub._subscribers.Remove(subscriber);
                subscriber.Complete();
                if (hub._subscribers.Count == 0)
                {
                    // The host went away: pending batched output is flushed into the queue and waits there.
                    hub._session.Messages.FlushBatch();
                }
            }

            if (hub.SubscriberCount == 0)
            {
                hub.ArmResumeTimer();
            }
        }
    }

    private async Task PumpAsync()
    {
        CancellationToken token = _stop.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                bool any;
                lock (_gate)
                {
                    any = _subscribers.Count > 0;
                }

                if (!any)
                {
                    await _hasSubscribers.WaitAsync(token).ConfigureAwait(false);
                    continue;
                }

                AgentMessage message = await _session.Messages.TakeAsync(token).ConfigureAwait(false);
                Notification n = Notifications.From(message, _session);
                Subscriber[] subscribers;
                lock (_gate)
                {
                    subscribers = [.. _subscribers];
                }

                // Backpressure, not loss: a host that lags by a full channel makes the pump wait, so messages stay in
                // the session's bounded queue, the one place where an overflow is counted and announced. Halts, runs
                // and stops never wait. With several hosts, one that has read nothing for the stall timeout stops
                // holding the others back: what it misses is counted and announced to it.
                bool mustDeliver = n.BodyCase is Notification.BodyOneofCase.Halted or Notification.BodyOneofCase.Running or Notification.BodyOneofCase.Stopped;
                foreach (Subscriber s in subscribers)
                {
                    while (!mustDeliver && s.IsFull && !s.IsClosed)
                    {
                        TimeSpan stalledFor = s.StalledFor;
                        bool others = SubscriberCount > 1;
                        if (others && stalledFor >= _stallTimeout)
                        {
                            break;
                        }

                        await s.WaitForRoomAsync(others ? _stallTimeout - stalledFor : _stallTimeout, token).ConfigureAwait(false);
                    }

                    if (!mustDeliver && s.IsFull)
                    {
                        s.Drop(n);
                    }
                    else
                    {
                        _ = s.TryWrite(n);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        _resumeTimer?.Dispose();
        await _stop.CancelAsync().ConfigureAwait(false);
        await _pump.ConfigureAwait(false);
        _stop.Dispose();
        _hasSubscribers.Dispose();
    }
}
