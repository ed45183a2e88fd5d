// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Protocol;

/// <summary>
/// A host's connection to an agent over the framed link (serial line, named pipe, Unix socket, raw TCP): requests get
/// fresh <c>request_id</c>s and are matched with their responses; notifications are queued for
/// <see cref="NotificationsAsync"/>. When the link ends, pending and later requests fail with
/// <see cref="ConnectionException"/> and the notification stream ends.
/// </summary>
public sealed class LinkDebuggeeConnection : IDebuggeeConnection, IBreakInSender
{
    private static readonly TimeSpan s_defaultHandshakeTimeout = TimeSpan.FromSeconds(10);
    private readonly ReliableLink<HostToAgent, AgentToHost> _link;
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<AgentToHost>> _pending = new();
    private readonly Channel<Notification> _notifications = Channel.CreateUnbounded<Notification>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly Task _pump;
    private long _nextRequestId;
    private Exception? _closedBecause;
    private volatile bool _disposing;

    private LinkDebuggeeConnection(ReliableLink<HostToAgent, AgentToHost> link)
    {
        _link = link;
        _pump = Task.Run(PumpAsync);
    }

    /// <inheritdoc/>
    public HandshakeResponse Handshake { get; private set; } = new();

    /// <summary>The link underneath (statistics, break-in).</summary>
    public ReliableLink<HostToAgent, AgentToHost> Link => _link;

    /// <summary>Opens a byte-stream connection string (<c>serial:</c>, <c>pipe:</c>, <c>tcp://</c>) and shakes hands.</summary>
    /// <exception cref="ConnectionException">The string is invalid or gRPC, the transport cannot be opened, or the agent refused.</exception>
    public static async Task<LinkDebuggeeConnection> ConnectAsync(string uri, string? token = null, TimeSpan? timeout = null, ResumePoint? resume = null, bool acknowledge = false, CancellationToken cancellationToken = default)
    {
        if (!ConnectionUri.TryParse(uri, out ConnectionUri? parsed, out string? error))
        {
            throw new ConnectionException(error);
        }

        if (parsed.Kind is ConnectionKind.Grpc or ConnectionKind.GrpcUnix)
        {
            throw new ConnectionException($"'{uri}' is a gRPC address; use GrpcDebuggeeConnection.");
        }

        ITransport transport;
        try
        {
            transport = await parsed.OpenAsync(TimeSpan.FromMilliseconds(ProtocolConstants.DefaultConnectTimeoutMs), cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw new ConnectionException($"cannot connect to {uri}: {ex.Message}", ex);
        }

        return await ConnectAsync(transport, token, options: null, timeout, resume, acknowledge, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Starts a link on <paramref name="transport"/> and shakes hands (protocol version, token); with
    /// <paramref name="acknowledge"/> the caller promises to acknowledge what it processed (see <see cref="Handshakes.Request"/>).</summary>
    /// <exception cref="ConnectionException">No answer within <paramref name="timeout"/> (default 10 s), or the agent refused.</exception>
    public static async Task<LinkDebuggeeConnection> ConnectAsync(ITransport transport, string? token = null, LinkOptions? options = null, TimeSpan? timeout = null, ResumePoint? resume = null, bool acknowledge = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transport);
        var connection = new LinkDebuggeeConnection(new ReliableLink<HostToAgent, AgentToHost>(transport, options));
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout ?? s_defaultHandshakeTimeout);
            var request = new HostToAgent { Handshake = Handshakes.Request(token, resume, acknowledge) };
            AgentToHost answer;
            try
            {
                answer = await connection.SendAsync(request, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new ConnectionException($"{transport.Description}: the agent did not answer the handshake within {(timeout ?? s_defaultHandshakeTimeout).TotalSeconds:F0} s.");
            }

            if (answer.BodyCase != AgentToHost.BodyOneofCase.Handshake)
            {
                throw new ConnectionException($"{transport.Description}: the agent answered the handshake with {answer.BodyCase}.");
            }

            if (answer.Handshake.Status != Status.Ok)
            {
                throw new ConnectionException($"{transport.Description} refused the connection: {answer.Handshake.Message} ({StatusText.Describe(answer.Handshake.Status)})");
            }

            connection.Handshake = answer.Handshake;
            return connection;
        }
        catch (ConnectionException)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc/>
    /// <remarks>The request is cloned and given the next request id; the caller's object is not changed.</remarks>
    public async Task<AgentToHost> SendAsync(HostToAgent request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        HostToAgent copy = request.Clone();
        copy.RequestId = (ulong)Interlocked.Increment(ref _nextRequestId);
        var answer = new TaskCompletionSource<AgentToHost>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[copy.RequestId] = answer;
        try
        {
            if (_closedBecause is not null)
            {
                throw Closed();
            }

            try
            {
                await _link.SendAsync(copy, cancellationToken).ConfigureAwait(false);
            }
            catch (LinkClosedException ex)
            {
                throw new ConnectionException(ex.Message, ex);
            }

            try
            {
                return await answer.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The request went out and the caller gave up (Ctrl+C, a deadline): the break-in byte, which follows it
                // on the link, makes the agent interrupt it instead of running it to its end.
                _ = TrySendBreakIn();
                throw;
            }
        }
        finally
        {
            _pending.TryRemove(copy.RequestId, out _);
        }
    }

    /// <inheritdoc/>
    public bool TrySendBreakIn()
    {
        try
        {
            _link.SendBreakIn();
            return true;
        }
        catch (LinkClosedException)
        {
            return false;
        }
    }

    /// <inheritdoc/>
    public async Task AcknowledgeAsync(ulong sequence, CancellationToken cancellationToken = default)
    {
        try
        {
            await _link.SendAsync(new HostToAgent { Ack = new NotificationAck { Sequence = sequence } }, cancellationToken).ConfigureAwait(false);
        }
        catch (LinkClosedException)
        {
            // The lost link is reported by the notification stream and the next request.
        }
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<Notification> NotificationsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (Notification notification in _notifications.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return notification;
        }

        if (_closedBecause is not null && !_disposing)
        {
            throw Closed(); // the link was lost, not closed by us
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        _disposing = true;
        await _link.DisposeAsync().ConfigureAwait(false);
        await _pump.ConfigureAwait(false);
    }

    /// <summary>Script output in the link's compact form as plain texts; a malformed one becomes an error log naming the problem.</summary>
    private static Notification Unpacked(Notification notification)
    {
        if (notification.BodyCase != Notification.BodyOneofCase.ScriptOutput || ScriptOutputPacking.TryUnpack(notification.ScriptOutput, out string? error))
        {
            return notification;
        }

        return new Notification { Log = new LogNotification { Level = LogLevel.Error, Text = $"malformed notification from the agent dropped: {error}" } };
    }

    private ConnectionException Closed() =>
        new($"the connection to the agent is closed: {_closedBecause?.Message}", _closedBecause!);

    private async Task PumpAsync()
    {
        try
        {
            while (true)
            {
                AgentToHost message = await _link.ReceiveAsync().ConfigureAwait(false);
                if (message.BodyCase == AgentToHost.BodyOneofCase.Notification)
                {
                    _notifications.Writer.TryWrite(Unpacked(message.Notification));
                }
                else if (_pending.TryGetValue(message.RequestId, out TaskCompletionSource<AgentToHost>? answer))
                {
                    answer.TrySetResult(message);
                }
            }
        }
        catch (LinkClosedException ex)
        {
            _closedBecause = ex;
        }

        _notifications.Writer.TryComplete();
        foreach (TaskCompletionSource<AgentToHost> answer in _pending.Values)
        {
            answer.TrySetException(Closed());
        }
    }
}
