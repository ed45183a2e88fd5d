// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Grpc.Core;
using HyperDbgRemote.Protocol.Messages;
using Status = HyperDbgRemote.Protocol.Messages.Status;

namespace HyperDbgRemote.Agent.Wire;

/// <summary>The agent's gRPC service: the same requests as the framed link, plus notification streams.</summary>
internal sealed class DebuggeeGrpcService : DebuggeeService.DebuggeeServiceBase
{
    /// <summary>Most notifications written between two flushes of a stream.</summary>
    private const int FlushEvery = 64;

    private readonly RequestDispatcher _dispatcher;
    private readonly NotificationHub _hub;

    public DebuggeeGrpcService(RequestDispatcher dispatcher, NotificationHub hub)
    {
        _dispatcher = dispatcher;
        _hub = hub;
    }

    /// <inheritdoc/>
    /// <remarks>A successful handshake opens a session (or resumes the one it names); its notification stream is
    /// <see cref="Notifications"/> with the session id.</remarks>
    public override Task<HandshakeResponse> Handshake(HandshakeRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        HandshakeResponse response = _dispatcher.Handle(new HostToAgent { Handshake = request }).Handshake;
        if (response.Status == Status.Ok)
        {
            (HostSession session, bool resumed) = _hub.Open(request);
            response.SessionId = session.Id;
            response.Resumed = resumed;
        }

        return Task.FromResult(response);
    }

    /// <inheritdoc/>
    public override Task<AgentToHost> Execute(HostToAgent request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (request.BodyCase == HostToAgent.BodyOneofCase.Ack)
        {
            HostSession session = _hub.Find(request.Ack.SessionId)
                ?? throw new RpcException(new Grpc.Core.Status(StatusCode.NotFound, $"session '{request.Ack.SessionId}' is unknown: shake hands again."));
            _hub.Acknowledge(session, request.Ack.Sequence);
            return Task.FromResult(new AgentToHost { RequestId = request.RequestId });
        }

        return _dispatcher.HandleAsync(request, context.CancellationToken);
    }

    /// <inheritdoc/>
    /// <remarks>With the session id of a handshake, the stream continues that session (after what it acknowledged, when
    /// it resumes); without one it is a session of its own that acknowledges nothing.</remarks>
    public override async Task Notifications(NotificationsRequest request, IServerStreamWriter<Notification> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        HostSession session = request.SessionId.Length == 0
            ? _hub.Open(new HandshakeRequest()).Session
            : _hub.Find(request.SessionId) ?? throw new RpcException(new Grpc.Core.Status(StatusCode.NotFound, $"session '{request.SessionId}' is unknown (expired, or the agent restarted): shake hands again."));
        (var reader, IDisposable handle) = _hub.Attach(session);
        using (handle)
        {
            await WriteAllAsync(reader, n => responseStream.WriteAsync(n), o => responseStream.WriteOptions = o, context.CancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public override async Task Session(IAsyncStreamReader<HostToAgent> requestStream, IServerStreamWriter<AgentToHost> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        var writeLock = new SemaphoreSlim(1, 1);
        (var reader, IDisposable handle) = _hub.Subscribe();
        using (handle)
        using (writeLock)
        {
            using var done = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
            Task notifications = WriteAllAsync(
                reader,
                async n =>
                {
                    await writeLock.WaitAsync(done.Token).ConfigureAwait(false);
                    try
                    {
                        await responseStream.WriteAsync(new AgentToHost { Notification = n }).ConfigureAwait(false);
                    }
                    finally
                    {
                        writeLock.Release();
                    }
                },
                _ => { },
                done.Token);
            await foreach (HostToAgent request in requestStream.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
            {
                AgentToHost reply = await _dispatcher.HandleAsync(request, context.CancellationToken).ConfigureAwait(false);
                await writeLock.WaitAsync(context.CancellationToken).ConfigureAwait(false);
                try
                {
                    await responseStream.WriteAsync(reply).ConfigureAwait(false);
                }
                finally
                {
                    writeLock.Release();
                }
            }

            await done.CancelAsync().ConfigureAwait(false);
            try
            {
                await notifications.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>
    /// Streams notifications, batching writes: buffered while more are ready, flushed when the channel is empty
    /// (BufferHint, as the transport notes measured: about twice the rate of a flush per message).
    /// </summary>
    private static async Task WriteAllAsync(System.Threading.Channels.ChannelReader<Notification> reader, Func<Notification, Task> write, Action<WriteOptions?> setOptions, CancellationToken token)
    {
        var buffered = new WriteOptions(WriteFlags.BufferHint);
        int sinceFlush = 0;
        try
        {
            while (await reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (reader.TryRead(out Notification? n))
                {
                    // Buffer while more are waiting, but flush at least every FlushEvery messages: a backlog that never
                    // flushes stalls the stream.
                    bool flush = reader.Count == 0 || ++sinceFlush >= FlushEvery;
                    if (flush)
                    {
                        sinceFlush = 0;
                    }

                    setOptions(flush ? null : buffered);
                    await write(n).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
