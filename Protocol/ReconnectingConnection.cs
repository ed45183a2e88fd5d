// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using System.Runtime.CompilerServices;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Protocol;

/// <summary>
/// A host's connection that re-establishes itself, as WinDbg's kernel debugger does: when the link is lost (a cable
/// pulled, a frozen line, an agent restarted), it says so (<see cref="ConnectionLost"/>), opens the transport again
/// until the agent answers, resumes its session (the agent then sends every notification after the last one processed
/// here, or announces what it no longer has) and says so (<see cref="Reconnected"/>). Requests made while it reconnects
/// wait for it (within their own cancellation); a request in flight when the link is lost fails with
/// <see cref="ConnectionException"/>, since it may or may not have run. Notifications are acknowledged as they are
/// processed.
/// </summary>
public sealed class ReconnectingConnection : IDebuggeeConnection, IBreakInSender
{
    /// <summary>Notifications processed between two acknowledgements at most.</summary>
    public const int AcknowledgeEvery = 32;

    private static readonly TimeSpan s_firstRetry = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan s_longestRetry = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan s_acknowledgeAfter = TimeSpan.FromMilliseconds(250);
    private readonly Func<ResumePoint?, CancellationToken, Task<IDebuggeeConnection>> _open;
    private readonly CancellationTokenSource _disposed = new();
    private readonly object _gate = new();
    private readonly ITimer _acknowledger;
    private IDebuggeeConnection _current;
    private TaskCompletionSource<IDebuggeeConnection> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ulong _processed;
    private ulong _acknowledged;

    private ReconnectingConnection(IDebuggeeConnection first, Func<ResumePoint?, CancellationToken, Task<IDebuggeeConnection>> open, TimeProvider time)
    {
        _current = first;
        _open = open;
        _ready.SetResult(first);
        _acknowledger = time.CreateTimer(_ => _ = AcknowledgeProcessedAsync(), null, s_acknowledgeAfter, s_acknowledgeAfter);
    }

    /// <summary>Raised (on the notification reader's thread) when the link is lost, with the reason.</summary>
    public event EventHandler<string>? ConnectionLost;

    /// <summary>Raised when the link is back, with what happened to the session.</summary>
    public event EventHandler<string>? Reconnected;

    /// <inheritdoc/>
    /// <remarks>The latest handshake: after a reconnection it tells the guest's state then.</remarks>
    public HandshakeResponse Handshake => Volatile.Read(ref _current).Handshake;

    /// <summary>True while the link is lost and being re-established.</summary>
    public bool IsReconnecting => !Volatile.Read(ref _ready).Task.IsCompleted;

    /// <summary>Opens the first connection with <paramref name="open"/> (which later reopens it with a resume point).</summary>
    /// <exception cref="ConnectionException">The first connection cannot be made.</exception>
    public static async Task<ReconnectingConnection> ConnectAsync(Func<ResumePoint?, CancellationToken, Task<IDebuggeeConnection>> open, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(open);
        IDebuggeeConnection first = await open(null, cancellationToken).ConfigureAwait(false);
        return new ReconnectingConnection(first, open, time ?? TimeProvider.System);
    }

    /// <inheritdoc/>
    public async Task<AgentToHost> SendAsync(HostToAgent request, CancellationToken cancellationToken = default)
    {
        IDebuggeeConnection connection = await Volatile.Read(ref _ready).Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        return await connection.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public bool TrySendBreakIn() => !IsReconnecting && Volatile.Read(ref _current) is IBreakInSender sender && sender.TrySendBreakIn();

    /// <inheritdoc/>
    public Task AcknowledgeAsync(ulong sequence, CancellationToken cancellationToken = default)
    {
        Task<IDebuggeeConnection> ready = Volatile.Read(ref _ready).Task;
        return ready.IsCompletedSuccessfully ? ready.Result.AcknowledgeAsync(sequence, cancellationToken) : Task.CompletedTask;
    }

    /// <inheritdoc/>
    /// <remarks>Runs across reconnections until cancelled or disposed; a notification already processed is never
    /// yielded twice.</remarks>
    public async IAsyncEnumerable<Notification> NotificationsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposed.Token);
        while (!stop.IsCancellationRequested)
        {
            IDebuggeeConnection connection = Volatile.Read(ref _current);
            string reason = "the agent closed the connection";
            await using (IAsyncEnumerator<Notification> stream = connection.NotificationsAsync(stop.Token).GetAsyncEnumerator(stop.Token))
            {
                while (true)
                {
                    bool next;
                    try
                    {
                        next = await stream.MoveNextAsync().ConfigureAwait(false);
                    }
                    catch (ConnectionException ex)
                    {
                        reason = ex.Message;
                        break;
                    }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested)
                    {
                        yield break;
                    }

                    if (!next)
                    {
                        break;
                    }

                    Notification n = stream.Current;
                    if (n.Sequence != 0 && n.Sequence <= Interlocked.Read(ref _processed))
                    {
                        continue; // sent again after a resume, and processed already
                    }

                    yield return n;
                    if (n.Sequence != 0)
                    {
                        Interlocked.Exchange(ref _processed, n.Sequence);
                        if (n.Sequence - Interlocked.Read(ref _acknowledged) >= AcknowledgeEvery)
                        {
                            await AcknowledgeProcessedAsync().ConfigureAwait(false);
                        }
                    }
                }
            }

            if (stop.IsCancellationRequested)
            {
                yield break;
            }

            await ReconnectAsync(connection, reason, stop.Token).ConfigureAwait(false);
        }
    }

    private async Task ReconnectAsync(IDebuggeeConnection lost, string reason, CancellationToken stop)
    {
        lock (_gate)
        {
            if (_ready.Task.IsCompleted)
            {
                _ready = new TaskCompletionSource<IDebuggeeConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        ConnectionLost?.Invoke(this, reason);
        await lost.DisposeAsync().ConfigureAwait(false);
        var resume = new ResumePoint(lost.Handshake.SessionId, Interlocked.Read(ref _processed));
        var clock = Stopwatch.StartNew();
        TimeSpan wait = s_firstRetry;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                IDebuggeeConnection again = await _open(resume, stop).ConfigureAwait(false);
                Volatile.Write(ref _current, again);
                Interlocked.Exchange(ref _acknowledged, 0);
                lock (_gate)
                {
                    _ready.TrySetResult(again);
                }

                Reconnected?.Invoke(this, again.Handshake.Resumed
                    ? $"reconnected after {clock.Elapsed.TotalSeconds:0.0} s; the session continues after notification {resume.LastNotification}"
                    : $"reconnected after {clock.Elapsed.TotalSeconds:0.0} s in a new session (the agent no longer knew this one): notifications sent meanwhile may be missing");
                return;
            }
            catch (ConnectionException)
            {
                try
                {
                    await Task.Delay(wait, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, s_longestRetry.Ticks));
            }
        }
    }

    private async Task AcknowledgeProcessedAsync()
    {
        ulong processed = Interlocked.Read(ref _processed);
        if (processed > Interlocked.Read(ref _acknowledged) && !IsReconnecting)
        {
            Interlocked.Exchange(ref _acknowledged, processed);
            await AcknowledgeAsync(processed, _disposed.Token).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }

        await _disposed.CancelAsync().ConfigureAwait(false);
        await _acknowledger.DisposeAsync().ConfigureAwait(false);
        await Volatile.Read(ref _current).DisposeAsync().ConfigureAwait(false);
        _disposed.Dispose();
    }
}
