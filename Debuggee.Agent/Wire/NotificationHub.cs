// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Threading.Channels;
using HyperDbgRemote.Agent.Messaging;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Agent.Wire;

/// <summary>
/// Delivers the agent's messages to every connected host. While no host is connected, messages wait in the session's
/// bounded queue (and what overflows there is counted). Each host has a bounded channel of its own; a host too slow to
/// keep up loses messages, which are counted and announced to it.
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

    public NotificationHub(DebuggeeSession session, TimeSpan? resumeAfter = null, TimeProvider? time = null)
    {
        _session = session;
        _resumeAfter = resumeAfter;
        _time = time ?? TimeProvider.System;
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

    internal sealed class Subscriber
    {
        public Channel<Notification> Channel { get; } = System.Threading.Channels.Channel.CreateBounded<Notification>(new BoundedChannelOptions(SubscriberCapacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true, SingleWriter = true });
    }

    /// <summary>Subscribes; dispose the returned handle to unsubscribe.</summary>
    public (ChannelReader<Notification> Reader, IDisposable Handle) Subscribe()
    {
        var s = new Subscriber();
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

        return (s.Channel.Reader, new Unsubscriber(this, s));
    }

    private sealed class Unsubscriber(NotificationHub hub, Subscriber subscriber) : IDisposable
    {
        public void Dispose()
        {
            lock (hub._gate)
            {
                hub._subscribers.Remove(subscriber);
                subscriber.Channel.Writer.TryComplete();
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
                // the session's bounded queue, the one place where an overflow is counted and announced.
                foreach (Subscriber s in subscribers)
                {
                    if (!s.Channel.Writer.TryWrite(n))
                    {
                        try
                        {
                            await s.Channel.Writer.WriteAsync(n, token).ConfigureAwait(false);
                        }
                        catch (ChannelClosedException)
                        {
                            // That host went away meanwhile.
                        }
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
