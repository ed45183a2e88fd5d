// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Threading.Channels;
using HyperDbgRemote.Agent.Messaging;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Protocol.Messages;
using LogLevel = HyperDbgRemote.Protocol.Messages.LogLevel;

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
internal sealed partial class NotificationHub : IAsyncDisposable
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

    public NotificationHub(DebuggeeSession session, TimeSpan? resumeAfter = null, TimeProvider? time = null, TimeSpan? stallTimeout = null, int maxRetained = MaxRetainedNotifications)
    {
        _maxRetained = maxRetained;
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

    /// <summary>Subscribes with a session of its own that acknowledges nothing (in-process hosts, tests); dispose the
    /// returned handle to unsubscribe.</summary>
    public (ChannelReader<Notification> Reader, IDisposable Handle) Subscribe() =>
        Attach(Open(new HandshakeRequest()).Session);

    private sealed class Unsubscriber(NotificationHub hub, Subscriber subscriber) : IDisposable
    {
        public void Dispose()
        {
            lock (hub._gate)
            {
                hub.RemoveSubscriber(subscriber);
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
                Notification n;
                try
                {
                    n = Notifications.From(message, _session);
                }
#pragma warning disable CA1031 // One message that cannot be converted must not stop notifications for every host.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    Serilog.Log.Error(ex, "a message for the debuggers could not be converted; it is dropped");
                    n = new Notification { Log = new LogNotification { Level = LogLevel.Error, Text = $"the agent dropped a message it could not convert ({ex.GetType().Name}: {ex.Message}); see its log" } };
                }

                Subscriber[] subscribers;
                lock (_gate)
                {
                    Retain(n);
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
        catch (ObjectDisposedException)
        {
            // The session went first (its message queue is disposed): nothing more will come.
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
