// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Threading.Channels;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Agent.Wire;

/// <content>One live host's channel.</content>
internal sealed partial class NotificationHub
{
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

        public Subscriber(TimeProvider time, DebuggeeSession session, HostSession host)
        {
            _time = time;
            _session = session;
            Host = host;
            _lastRead = time.GetTimestamp();
            Reader = new SubscriberReader(this);
        }

        /// <summary>The host session this channel serves.</summary>
        public HostSession Host { get; }

        public ChannelReader<Notification> Reader { get; }

        public bool IsFull => Volatile.Read(ref _queued) >= SubscriberCapacity;

        /// <summary>The host went away (set by the unsubscribing thread, read by the pump).</summary>
        public bool IsClosed => Volatile.Read(ref _closed);

        /// <summary>How long the host has had a full channel without reading from it (its channel filled while it read
        /// nothing, or it read nothing since subscribing).</summary>
        public TimeSpan StalledFor => _time.GetElapsedTime(Math.Max(Interlocked.Read(ref _lastRead), Interlocked.Read(ref _fullSince)));

        /// <summary>Counts messages this host will not get because they were gone before it resumed.</summary>
        public void Missed(long messages)
        {
            Interlocked.Add(ref _unannounced, messages);
            Interlocked.Add(ref _droppedTotal, messages);
        }

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

            if (n.Sequence != 0)
            {
                Host.Written = n.Sequence;
            }

            if (Interlocked.Increment(ref _queued) == SubscriberCapacity)
            {
                Interlocked.Exchange(ref _fullSince, _time.GetTimestamp());
            }

            return true;
        }

        /// <summary>Counts the messages of a notification this host will not get.</summary>
        public void Drop(Notification n) => Missed(MessagesIn(n));

        /// <summary>Waits until the channel has room, or <paramref name="limit"/> passes.</summary>
        public async Task WaitForRoomAsync(TimeSpan limit, CancellationToken token)
        {
            var room = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Interlocked.Exchange(ref _room, room); // a full fence: Complete either sees this one or we see it closed
            if (!IsFull || IsClosed || limit <= TimeSpan.Zero)
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
            Interlocked.MemoryBarrier(); // pairs with the fence in WaitForRoomAsync: no wake-up is lost between them
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

}
