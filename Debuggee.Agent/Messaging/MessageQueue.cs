// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;
using HyperDbgRemote.Agent.Events;

namespace HyperDbgRemote.Agent.Messaging;

/// <summary>
/// The agent's outgoing messages. <c>imm yes</c> output becomes one message each; <c>imm no</c> output is appended to
/// a batch that is flushed when it would exceed <see cref="BatchBytes"/>, on a timer (at most
/// <see cref="FlushInterval"/> old), on a break and on disconnect. Messages wait in a bounded queue while no host is
/// connected or the host is slow; what does not fit is counted and reported (<see cref="DroppedMessages"/>) — never
/// lost silently. Thread-safe: cores produce, the host connection consumes.
/// </summary>
internal sealed class MessageQueue : IDisposable
{
    /// <summary>Most messages waiting for a host.</summary>
    public const int DefaultCapacity = 100_000;

    /// <summary>Most text waiting for a host, in bytes (a batch holds thousands of messages, so a count alone does not
    /// bound memory).</summary>
    public const long DefaultCapacityBytes = 64L * 1024 * 1024;

    /// <summary>Most text in one batch (it must fit a frame of the link).</summary>
    public const int DefaultBatchBytes = 60 * 1024;

    /// <summary>How old a batch may get before it is sent.</summary>
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(100);

    private readonly object _gate = new();
    private readonly Queue<(AgentMessage Message, long Bytes)> _queue = new();
    private readonly int _capacity;
    private readonly long _capacityBytes;
    private long _queuedBytes;
    private readonly List<string> _batch = [];
    private readonly ITimer _timer;
    private readonly SemaphoreSlim _available = new(0);
    private int _batchBytes;
    private long _dropped;
    private long _droppedTotal;

    // Set while the queue is full: producers (cores) then count their message as dropped without taking the lock, so a
    // guest flooding a slow host cannot starve the consumer of the lock it needs to make room.
    private volatile bool _full;
    private readonly TimeProvider _time;
    private long _lastDropNotice;

    public MessageQueue(TimeProvider? time = null, int capacity = DefaultCapacity, int batchBytes = DefaultBatchBytes, long capacityBytes = DefaultCapacityBytes)
    {
        _capacity = capacity;
        _capacityBytes = capacityBytes;
        BatchBytes = batchBytes;
        _time = time ?? TimeProvider.System;
        _lastDropNotice = _time.GetTimestamp() - _time.TimestampFrequency;
        _timer = _time.CreateTimer(_ => FlushBatch(), null, FlushInterval, FlushInterval);
    }

    /// <summary>Most text in one batch.</summary>
    public int BatchBytes { get; }

    /// <summary>Messages dropped since the queue was created.</summary>
    public long DroppedTotal => Interlocked.Read(ref _droppedTotal);

    /// <summary>Messages waiting.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>Queues the output of an <c>imm yes</c> event.</summary>
    public void Immediate(int eventId, string text)
    {
        if (!DroppedWhileFull())
        {
            Enqueue(new ImmediateScriptOutput(eventId, text));
        }
    }

    /// <summary>Appends the output of an <c>imm no</c> event to the batch.</summary>
    public void Batched(string text)
    {
        if (DroppedWhileFull())
        {
            return;
        }

        lock (_gate)
        {
            int bytes = Encoding.UTF8.GetByteCount(text);
            if (_batchBytes + bytes > BatchBytes && _batch.Count > 0)
            {
                FlushBatchLocked();
            }

            _batch.Add(text);
            _batchBytes += bytes;
        }
    }

    /// <summary>While the queue is full, counts one script message as dropped (no lock); false when there is room.</summary>
    private bool DroppedWhileFull()
    {
        if (!_full)
        {
            return false;
        }

        Interlocked.Increment(ref _dropped);
        Interlocked.Increment(ref _droppedTotal);
        return true;
    }

    /// <summary>Queues a report.</summary>
    public void Log(EventLogLevel level, string text) => Enqueue(new LogMessage(level, text));

    /// <summary>Sends the batch now (breaks, disconnects, the timer).</summary>
    public void FlushBatch()
    {
        lock (_gate)
        {
            FlushBatchLocked();
        }
    }

    /// <summary>Discards the batch not yet queued (a script's <c>flush()</c>); returns how many messages it held.</summary>
    public int DiscardBatch()
    {
        lock (_gate)
        {
            int n = _batch.Count;
            _batch.Clear();
            _batchBytes = 0;
            return n;
        }
    }

    private void FlushBatchLocked()
    {
        if (_batch.Count == 0)
        {
            return;
        }

        EnqueueLocked(new BatchedScriptOutput([.. _batch]));
        _batch.Clear();
        _batchBytes = 0;
    }

    /// <summary>Queues any message (halts, state changes).</summary>
    public void Enqueue(AgentMessage message)
    {
        lock (_gate)
        {
            EnqueueLocked(message);
        }
    }

    private void EnqueueLocked(AgentMessage message)
    {
        // The debuggee's state changes are never dropped: a host must always learn that the guest halted or ran on.
        bool state = message is HaltedMessage or RunningMessage or StoppedMessage;
        long bytes = SizeOf(message);
        if (!state && (_queue.Count >= _capacity || _queuedBytes + bytes > _capacityBytes))
        {
            long messages = message is BatchedScriptOutput batch ? batch.Texts.Count : 1;
            Interlocked.Add(ref _dropped, messages);
            Interlocked.Add(ref _droppedTotal, messages);
            _full = true;
            return;
        }

        _queue.Enqueue((message, bytes));
        _queuedBytes += bytes;
        _available.Release();
    }

    /// <summary>Approximate memory of a message's text (two bytes a character, plus a fixed cost).</summary>
    private static long SizeOf(AgentMessage message)
    {
        const long Fixed = 64;
        return Fixed + (2L * message switch
        {
            ImmediateScriptOutput m => m.Text.Length,
            BatchedScriptOutput m => m.Texts.Sum(t => (long)t.Length + 8),
            LogMessage m => m.Text.Length,
            _ => 0,
        });
    }

    /// <summary>Takes the next message, or null when none is waiting. A dropped-messages notice comes first after drops.</summary>
    public AgentMessage? TryTake()
    {
        lock (_gate)
        {
            // Drops are announced before the next message, at most every FlushInterval while they go on (a flood
            // would otherwise put a notice between every two messages).
            if (Interlocked.Read(ref _dropped) > 0 && (_queue.Count == 0 || _time.GetElapsedTime(_lastDropNotice) >= FlushInterval))
            {
                _lastDropNotice = _time.GetTimestamp();
                long n = Interlocked.Exchange(ref _dropped, 0);
                return new DroppedMessages(n);
            }

            if (_queue.Count == 0)
            {
                return null;
            }

            _available.Wait(0);
            (AgentMessage message, long bytes) = _queue.Dequeue();
            _queuedBytes -= bytes;
            if (_full && _queue.Count < _capacity * 9 / 10 && _queuedBytes < _capacityBytes * 9 / 10)
            {
                _full = false; // room again (a tenth, so a full queue does not flip at every message)
            }
            return message;
        }
    }

    /// <summary>Waits for the next message.</summary>
    public async Task<AgentMessage> TakeAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (TryTake() is AgentMessage m)
            {
                return m;
            }

            await _available.WaitAsync(FlushInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _timer.Dispose();
        _available.Dispose();
    }
}
