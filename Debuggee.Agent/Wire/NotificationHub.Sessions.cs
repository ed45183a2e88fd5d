// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Security.Cryptography;
using System.Threading.Channels;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Agent.Wire;

/// <content>
/// Host sessions and what is kept for them. Every notification gets a sequence number and stays in the retained log
/// until every host that acknowledges (live or parked) has acknowledged it and some host has confirmed it. A host that
/// resumes its session gets what it had not acknowledged; a new host that finds no other connected gets what no host
/// confirmed, except the guest's state changes (halted, running, stopped): its handshake told it the state now, and an
/// old "halted" would make it act on a halt that is over. The log is bounded; what falls out of it before a host confirmed it is counted and announced to whoever
/// would have received it.
/// </content>
internal sealed partial class NotificationHub
{
    /// <summary>The capability a host announces when it acknowledges notifications.</summary>
    public const string AcknowledgeCapability = Protocol.Handshakes.AcknowledgeCapability;

    /// <summary>Most notifications kept for hosts that have not confirmed them.</summary>
    public const int MaxRetainedNotifications = 100_000;

    /// <summary>Most bytes of notifications kept for hosts that have not confirmed them.</summary>
    public const long MaxRetainedBytes = 64L * 1024 * 1024;

    /// <summary>How long a parked session can be resumed.</summary>
    public static readonly TimeSpan ResumeWindow = TimeSpan.FromMinutes(10);

    /// <summary>Most parked sessions; the oldest is forgotten first.</summary>
    public const int MaxParkedSessions = 16;

    /// <summary>Most sessions whose handshake has no channel yet.</summary>
    public const int MaxPendingSessions = 64;

    /// <summary>How long a handshake's session waits for its channel.</summary>
    public static readonly TimeSpan PendingWindow = TimeSpan.FromMinutes(1);

    private readonly int _maxRetained;
    private readonly Dictionary<string, HostSession> _sessions = new(StringComparer.Ordinal);
    private readonly Queue<(ulong Sequence, Notification Notification, int Bytes)> _retained = new();
    private long _retainedBytes;
    private ulong _nextSequence = 1;
    private ulong _confirmed;
    private long _unconfirmedEvicted;

    /// <summary>Opens the session of a handshake: the one it names to resume (if known and within its window), else a new one.</summary>
    public (HostSession Session, bool Resumed) Open(HandshakeRequest handshake)
    {
        ArgumentNullException.ThrowIfNull(handshake);
        lock (_gate)
        {
            ForgetExpiredSessions();
            if (handshake.ResumeSession.Length > 0 && _sessions.TryGetValue(handshake.ResumeSession, out HostSession? known))
            {
                known.Acknowledged = Math.Max(known.Acknowledged, Math.Min(handshake.LastNotification, _nextSequence - 1));
                known.Resuming = true;
                if (known.Live is Subscriber old)
                {
                    // The host came back before its old link was seen to die: the old channel ends now.
                    RemoveSubscriber(old);
                }

                return (known, true);
            }

            var session = new HostSession(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), handshake.Capabilities.Contains(AcknowledgeCapability))
            {
                ParkedSince = _time.GetTimestamp(),
                OpenedAfter = _nextSequence - 1,
            };
            _sessions[session.Id] = session;
            return (session, false);
        }
    }

    /// <summary>The session named <paramref name="id"/>, or null.</summary>
    public HostSession? Find(string id)
    {
        lock (_gate)
        {
            return _sessions.GetValueOrDefault(id);
        }
    }

    /// <summary>The host of <paramref name="session"/> processed every notification up to <paramref name="sequence"/>.</summary>
    public void Acknowledge(HostSession session, ulong sequence)
    {
        ArgumentNullException.ThrowIfNull(session);
        lock (_gate)
        {
            session.Acknowledged = Math.Max(session.Acknowledged, Math.Min(sequence, session.Written));
            _confirmed = Math.Max(_confirmed, session.Acknowledged);
            Prune();
        }
    }

    /// <summary>Under the gate: what a newly attached channel must get first, before the pump's next notification.</summary>
    private void Replay(Subscriber subscriber)
    {
        HostSession host = subscriber.Host;
        ulong after;
        long missed;
        if (host.Resuming)
        {
            after = host.Acknowledged;
            ulong oldest = _retained.Count > 0 ? _retained.Peek().Sequence : _nextSequence;
            missed = oldest > after + 1 ? (long)(oldest - after - 1) : 0;
        }
        else if (_subscribers.Count > 0)
        {
            // Other hosts are connected: this one gets what happened since its handshake.
            ulong oldest = _retained.Count > 0 ? _retained.Peek().Sequence : _nextSequence;
            after = Math.Max(host.OpenedAfter, oldest - 1);
            missed = oldest > host.OpenedAfter + 1 ? (long)(oldest - host.OpenedAfter - 1) : 0;
        }
        else
        {
            after = _confirmed;
            missed = _unconfirmedEvicted;
            _unconfirmedEvicted = 0;
        }

        if (missed > 0)
        {
            subscriber.Missed(missed);
        }

        bool resumed = host.Resuming;
        host.Written = after;
        foreach ((ulong sequence, Notification n, _) in _retained)
        {
            if (sequence > after && (resumed || sequence > host.OpenedAfter || !IsStateChange(n)))
            {
                _ = subscriber.TryWrite(n);
            }
        }

        host.Resuming = false;
        host.Written = Math.Max(host.Written, _nextSequence - 1);
    }

    /// <summary>Halted, running and stopped: what a new host learns from its handshake instead (those from before it).</summary>
    private static bool IsStateChange(Notification n) =>
        n.BodyCase is Notification.BodyOneofCase.Halted or Notification.BodyOneofCase.Running or Notification.BodyOneofCase.Stopped;

    /// <summary>Under the gate: numbers a notification and keeps it until it is confirmed.</summary>
    private void Retain(Notification n)
    {
        n.Sequence = _nextSequence++;
        int bytes = n.CalculateSize();
        _retained.Enqueue((n.Sequence, n, bytes));
        _retainedBytes += bytes;
        if (_retained.Count > _maxRetained || _retainedBytes > MaxRetainedBytes || (_retained.Count & 0x3FF) == 0)
        {
            Prune();
        }
    }

    /// <summary>Under the gate: drops what every host has what it needs of, then the oldest beyond the bounds (counted).</summary>
    private void Prune()
    {
        foreach (Subscriber s in _subscribers)
        {
            _confirmed = Math.Max(_confirmed, s.Host.Confirmed);
        }

        ulong floor = _confirmed;
        foreach (HostSession h in _sessions.Values)
        {
            if (h.Acknowledges && (h.EverAttached || h.Live is not null))
            {
                floor = Math.Min(floor, h.Acknowledged);
            }
        }

        while (_retained.Count > 0 && (_retained.Peek().Sequence <= floor || _retained.Count > _maxRetained || _retainedBytes > MaxRetainedBytes))
        {
            (ulong sequence, Notification n, int bytes) = _retained.Dequeue();
            _retainedBytes -= bytes;
            if (sequence > _confirmed)
            {
                _unconfirmedEvicted += MessagesIn(n);
            }
        }
    }

    /// <summary>Under the gate: parked sessions past their window, or beyond the most kept, are forgotten; so are
    /// sessions whose handshake never got a channel (a gRPC handshake without a notification stream) after a minute, or
    /// beyond the most kept of those, so that handshakes alone cannot push out a parked session.</summary>
    private void ForgetExpiredSessions()
    {
        Forget([.. _sessions.Values.Where(h => h.Live is null && h.EverAttached)], MaxParkedSessions, ResumeWindow);
        Forget([.. _sessions.Values.Where(h => !h.EverAttached)], MaxPendingSessions, PendingWindow);
    }

    private void Forget(List<HostSession> candidates, int keep, TimeSpan window)
    {
        int excess = candidates.Count - keep;
        foreach (HostSession h in candidates.OrderBy(h => h.ParkedSince))
        {
            if (excess-- > 0 || _time.GetElapsedTime(h.ParkedSince) > window)
            {
                _sessions.Remove(h.Id);
            }
        }
    }

    /// <summary>The messages a notification carries (a batch of script output carries many).</summary>
    private static long MessagesIn(Notification n) =>
        n.BodyCase == Notification.BodyOneofCase.ScriptOutput ? Math.Max(n.ScriptOutput.Texts.Count, 1) : 1;

    /// <summary>Attaches a live channel to <paramref name="session"/>; dispose the handle when its host goes away (the
    /// session is then parked if its host acknowledges, else forgotten).</summary>
    public (ChannelReader<Notification> Reader, IDisposable Handle) Attach(HostSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        var s = new Subscriber(_time, _session, session);
        lock (_gate)
        {
            if (session.Live is Subscriber old)
            {
                RemoveSubscriber(old);
            }

            Replay(s);
            session.Live = s;
            session.EverAttached = true;
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

    /// <summary>Under the gate: ends a live channel; its session is parked (acknowledging hosts) or forgotten.</summary>
    private void RemoveSubscriber(Subscriber subscriber)
    {
        if (!_subscribers.Remove(subscriber))
        {
            return;
        }

        subscriber.Complete();
        HostSession host = subscriber.Host;
        if (ReferenceEquals(host.Live, subscriber))
        {
            host.Live = null;
            host.ParkedSince = _time.GetTimestamp();
            if (!host.Acknowledges)
            {
                _confirmed = Math.Max(_confirmed, host.Written);
                _sessions.Remove(host.Id);
            }
        }

        if (_subscribers.Count == 0)
        {
            // The host went away: pending batched output is flushed into the queue and waits there.
            _session.Messages.FlushBatch();
        }

        Prune();
    }
}
