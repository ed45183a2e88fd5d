// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Net;
using System.Net.Sockets;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;
using Serilog;
using LogLevel = HyperDbgRemote.Protocol.Messages.LogLevel;

namespace HyperDbgRemote.Agent.Wire;

/// <summary>
/// Serves debuggers over the framed link on byte streams: a serial line (<c>serial:PATH?baud=N</c>), a named pipe or
/// Unix socket (<c>pipe:NAME</c>, <c>pipe:/abs/path.sock</c>) or raw TCP on loopback (<c>tcp://127.0.0.1:PORT</c>).
/// Each connection gets the same requests and notifications as gRPC. A break-in byte pauses the guest. A serial
/// line that dies (cable pulled, peer gone) is closed and opened again.
/// </summary>
internal sealed class LinkServer : IAsyncDisposable
{
    /// <summary>Smallest notification frame on a paced line.</summary>
    private const int MinPacedChunk = 1024;

    private readonly RequestDispatcher _dispatcher;
    private readonly NotificationHub _hub;
    private readonly DebuggeeSession _session;
    private readonly AgentSecurity _security;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly List<TcpListener> _listeners = [];
    private readonly List<NamedPipeListener> _pipes = [];
    private readonly ProtocolLimits _limits;
    private readonly TimeProvider _time;
    private int _connections;

    /// <summary>How long an accept loop waits after a failed accept.</summary>
    private static readonly TimeSpan s_acceptRetryDelay = TimeSpan.FromMilliseconds(200);

    /// <summary>How long the serial loop waits before opening the line again.</summary>
    private static readonly TimeSpan s_serialReopenDelay = TimeSpan.FromMilliseconds(100);

    public LinkServer(DebuggeeSession session, RequestDispatcher dispatcher, NotificationHub hub, AgentSecurity security, TimeProvider? time = null)
    {
        _session = session;
        _dispatcher = dispatcher;
        _hub = hub;
        _security = security;
        _limits = session.Limits;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Where it listens (with actual TCP ports).</summary>
    public List<string> Addresses { get; } = [];

    /// <summary>Connections served now on TCP and pipe listeners (a serial line is one connection of its own).</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Starts listening on <paramref name="uri"/>.</summary>
    /// <exception cref="InvalidOperationException">Raw TCP beyond loopback (it has no TLS), a bad serial line, or a socket path that is taken.</exception>
    public void Listen(ListenUri uri)
    {
        CancellationToken stop = _stop.Token;
        switch (uri.Scheme)
        {
            case "tcp":
                if (!uri.IsLocal)
                {
                    throw new InvalidOperationException($"refusing to listen on {uri.Text}: raw TCP has no TLS; beyond loopback use grpc:// with --tls-cert, --tls-key and a token.");
                }

                TcpListener listener = TcpListening.Start(uri, NamedPipeListener.Backlog);
                _listeners.Add(listener);
                Addresses.Add($"tcp://{((IPEndPoint)listener.LocalEndpoint).Address}:{((IPEndPoint)listener.LocalEndpoint).Port}");
                _loops.Add(Task.Run(() => AcceptLoopAsync(async ct => await TcpTransport.AcceptAsync(listener, ct).ConfigureAwait(false), stop)));
                break;
            case "pipe":
                NamedPipeListener pipes;
                try
                {
                    pipes = NamedPipeListener.Start(uri.Path);
                }
                catch (Exception ex) when (ex is IOException or ArgumentException)
                {
                    throw new InvalidOperationException($"cannot listen on {uri.Text}: {ex.Message}", ex);
                }

                _pipes.Add(pipes);
                Addresses.Add("pipe:" + uri.Path);
                _loops.Add(Task.Run(() => AcceptLoopAsync(async ct => await pipes.AcceptAsync(ct).ConfigureAwait(false), stop)));
                break;
            case "serial":
                if (!SerialTransport.IsSupportedBaudRate(uri.Baud))
                {
                    throw new InvalidOperationException($"baud rate {uri.Baud} is not supported: use one of {string.Join(", ", ProtocolConstants.SupportedBaudRates)}.");
                }

                if (!SerialTransport.TryOpen(uri.Path, uri.Baud, out SerialTransport? first, out string? error))
                {
                    throw new InvalidOperationException($"cannot open the serial line {uri.Path}: {error}");
                }

                Addresses.Add($"serial:{uri.Path}?baud={uri.Baud}");
                _loops.Add(Task.Run(() => SerialLoopAsync(first, uri, stop)));
                break;
            default:
                throw new InvalidOperationException($"{uri.Text} is not a byte-stream address.");
        }
    }

    /// <summary>Accepts connections until stopped: none may end the loop, and beyond the connection limit a new one is
    /// closed at once (with a warning) instead of being served.</summary>
    private async Task AcceptLoopAsync(Func<CancellationToken, Task<ITransport>> accept, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            ITransport transport;
            try
            {
                transport = await accept(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A listener survives whatever one accept throws: it logs and keeps serving.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                if (stop.IsCancellationRequested)
                {
                    return;
                }

                Log.Warning("accepting a debugger failed: {Error}", ex.Message);
                await Task.Delay(s_acceptRetryDelay, _time, stop).ConfigureAwait(false);
                continue;
            }

            if (Interlocked.Increment(ref _connections) > _limits.MaxConnections)
            {
                Interlocked.Decrement(ref _connections);
                Log.Warning("{Transport}: refused, {Limit} connections are served already", transport.Description, _limits.MaxConnections);
                await transport.DisposeAsync().ConfigureAwait(false);
                continue;
            }

            _ = Task.Run(async () =>
            {
                try
                {
                    await ServeAsync(transport, deadlineFromAccept: true, stop).ConfigureAwait(false);
                }
                finally
                {
                    Interlocked.Decrement(ref _connections);
                }
            }, CancellationToken.None);
        }
    }

    private async Task SerialLoopAsync(SerialTransport first, ListenUri uri, CancellationToken stop)
    {
        ITransport? transport = first;
        while (!stop.IsCancellationRequested)
        {
            if (transport is null)
            {
                await Task.Delay(s_serialReopenDelay, _time, stop).ConfigureAwait(false);
                if (!SerialTransport.TryOpen(uri.Path, uri.Baud, out SerialTransport? again, out string? error))
                {
                    Log.Warning("serial line {Path} cannot be reopened yet: {Error}", uri.Path, error);
                    continue;
                }

                transport = again;
            }

            // A serial line waits for its debugger: the handshake deadline starts when a peer's link is established.
            await ServeAsync(transport, deadlineFromAccept: false, stop).ConfigureAwait(false);
            transport = null;
        }
    }

    /// <summary>
    /// One debugger on one transport: requests in order, notifications as they come. Nothing the peer sends changes the
    /// guest before a valid handshake with the token (the break-in byte included); a peer that does not complete it
    /// within <see cref="ProtocolLimits.HandshakeTimeout"/> is disconnected. No exception ends the caller's loop: a
    /// failing session is logged and closed.
    /// </summary>
    private async Task ServeAsync(ITransport transport, bool deadlineFromAccept, CancellationToken stop)
    {
        try
        {
            await ServeCoreAsync(transport, deadlineFromAccept, stop).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is LinkClosedException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            Log.Information("debugger on {Transport} gone: {Reason}", transport.Description, ex.Message);
        }
#pragma warning disable CA1031 // The last resort of a session: it is logged and closed, and the listener keeps serving.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.Error(ex, "serving the debugger on {Transport} failed; the session is closed", transport.Description);
        }
    }

    private async Task ServeCoreAsync(ITransport transport, bool deadlineFromAccept, CancellationToken stop)
    {
        await using var link = new ReliableLink<AgentToHost, HostToAgent>(transport);
        bool authenticated = false;

        // The break-in byte (the debugger's Ctrl+C) interrupts every request the debugger sent before it that has not
        // finished (a script running on the halted core, or one still waiting its turn) and halts a running guest; from
        // a peer that has not shaken hands it is ignored. Requests are numbered as they are taken from the link; the
        // byte says how many came before it, so one that has not started yet starts interrupted.
        InFlightRequest? inFlight = null;
        long interruptThrough = 0;
        // A break-in that follows the handshake request before its answer has gone out (a Ctrl+C typed at once) waits
        // for the handshake's outcome: applied once the peer is authenticated, dropped if it is refused.
        var authentication = new object();
        bool breakInAfterHandshake = false;

        // Halts a running guest; off the link's reader (the pause waits for the cores).
        void PauseGuest() => _ = Task.Run(() => _session.Pause(TimeSpan.FromSeconds(2)), CancellationToken.None);
        link.BreakInReceived += (_, e) =>
        {
            lock (authentication)
            {
                if (!authenticated)
                {
                    if (e.MessagesBefore > 0)
                    {
                        breakInAfterHandshake = true;
                        return;
                    }

                    Log.Warning("{Transport}: break-in from a peer that has not completed its handshake: ignored", transport.Description);
                    return;
                }
            }

            long before = e.MessagesBefore;
            long seen;
            do
            {
                seen = Interlocked.Read(ref interruptThrough);
            }
            while (before > seen && Interlocked.CompareExchange(ref interruptThrough, before, seen) != seen);
            Volatile.Read(ref inFlight)?.InterruptIfBefore(before);
            PauseGuest();
        };
        using var sendLock = new SemaphoreSlim(1, 1);

        // On a paced line (serial) a 64 KiB message takes seconds: batches go out in messages of about a quarter second.
        int chunk = transport.BytesPerSecond > 0
            ? Math.Clamp(transport.BytesPerSecond / 4, MinPacedChunk, ProtocolConstants.DefaultMaxFramePayload)
            : ProtocolConstants.DefaultMaxFramePayload;
        async Task Send(AgentToHost m, CancellationToken ct)
        {
            await sendLock.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                await link.SendAsync(m, ct).ConfigureAwait(false);
            }
            finally
            {
                sendLock.Release();
            }
        }

        using var done = CancellationTokenSource.CreateLinkedTokenSource(stop);
        bool timedOut = false;
        void Deadline()
        {
            if (!Volatile.Read(ref authenticated))
            {
                timedOut = true;
                done.Cancel();
            }
        }

        ITimer? handshakeTimer = deadlineFromAccept ? _time.CreateTimer(_ => Deadline(), null, _limits.HandshakeTimeout, Timeout.InfiniteTimeSpan) : null;
        _ = link.Established.ContinueWith(
            _ => handshakeTimer ??= _time.CreateTimer(_ => Deadline(), null, _limits.HandshakeTimeout, Timeout.InfiniteTimeSpan),
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnRanToCompletion,
            TaskScheduler.Default);
        IDisposable? subscription = null;
        HostSession? host = null;
        Task? notifications = null;
        Log.Information("{Transport}: waiting for a debugger's handshake", transport.Description);
        try
        {
            await foreach (HostToAgent request in link.ReadAllAsync(done.Token).ConfigureAwait(false))
            {
                if (subscription is null)
                {
                    if (request.BodyCase != HostToAgent.BodyOneofCase.Handshake)
                    {
                        await Send(new AgentToHost { RequestId = request.RequestId, Notification = new Notification { Log = new LogNotification { Level = LogLevel.Error, Text = "the first request must be a handshake." } } }, done.Token).ConfigureAwait(false);
                        continue;
                    }

                    if (!_security.TokenMatches(request.Handshake.Token))
                    {
                        Log.Warning("{Transport}: a handshake with a wrong or missing token was refused", transport.Description);
                        await Send(new AgentToHost { RequestId = request.RequestId, Handshake = new HandshakeResponse { Status = Status.PermissionDenied, Message = "a valid token is required." } }, done.Token).ConfigureAwait(false);
                        break;
                    }

                    AgentToHost hello = _dispatcher.Handle(request, done.Token);
                    if (hello.Handshake.Status != Status.Ok)
                    {
                        await Send(hello, done.Token).ConfigureAwait(false);
                        break;
                    }

                    (host, bool resumed) = _hub.Open(request.Handshake);
                    hello.Handshake.SessionId = host.Id;
                    hello.Handshake.Resumed = resumed;
                    bool breakIn;
                    lock (authentication)
                    {
                        // Authenticated before the answer goes out: the peer may send its break-in the moment it has it.
                        authenticated = true;
                        breakIn = breakInAfterHandshake;
                    }

                    await Send(hello, done.Token).ConfigureAwait(false);
                    if (breakIn)
                    {
                        PauseGuest();
                    }

                    Log.Information("debugger {Action} on {Transport}", resumed ? "resumed its session" : "connected", transport.Description);
                    (var reader, IDisposable handle) = _hub.Attach(host);
                    subscription = handle;
                    notifications = Task.Run(() => ForwardNotificationsAsync(reader, n => Notifications.ForLink(n, chunk), Send, transport, done), CancellationToken.None);
                    continue;
                }

                if (request.BodyCase == HostToAgent.BodyOneofCase.Ack)
                {
                    _hub.Acknowledge(host!, request.Ack.Sequence); // acknowledgements get no answer
                    continue;
                }

                AgentToHost reply;
                using (var requestCancellation = CancellationTokenSource.CreateLinkedTokenSource(done.Token))
                {
                    var current = new InFlightRequest(link.MessagesReceived, requestCancellation);
                    Interlocked.Exchange(ref inFlight, current);
                    current.InterruptIfBefore(Interlocked.Read(ref interruptThrough)); // a break-in that came while it waited
                    try
                    {
                        reply = await _dispatcher.HandleAsync(request, requestCancellation.Token).ConfigureAwait(false);
                    }
                    finally
                    {
                        Interlocked.Exchange(ref inFlight, null);
                    }
                }

                await Send(reply, done.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (timedOut)
        {
            Log.Warning("{Transport}: no valid handshake within {Seconds} s: disconnected", transport.Description, _limits.HandshakeTimeout.TotalSeconds);
        }
        finally
        {
            handshakeTimer?.Dispose();
            await done.CancelAsync().ConfigureAwait(false);
            subscription?.Dispose();
            if (notifications is not null)
            {
                await notifications.ConfigureAwait(false);
            }
        }
    }

    /// <summary>Sends the hub's notifications until the session ends; a failure is logged and ends the session (never
    /// the listener).</summary>
    private static async Task ForwardNotificationsAsync(
        System.Threading.Channels.ChannelReader<Notification> reader,
        Func<Notification, IEnumerable<AgentToHost>> pieces,
        Func<AgentToHost, CancellationToken, Task> send,
        ITransport transport,
        CancellationTokenSource done)
    {
        try
        {
            await foreach (Notification n in reader.ReadAllAsync(done.Token).ConfigureAwait(false))
            {
                foreach (AgentToHost piece in pieces(n))
                {
                    await send(piece, done.Token).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or LinkClosedException or IOException or ObjectDisposedException)
        {
        }
#pragma warning disable CA1031 // The last resort of a notification pump: logged, and the session is closed.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.Error(ex, "sending notifications on {Transport} failed; the session is closed", transport.Description);
            await done.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (TcpListener l in _listeners)
        {
            l.Stop();
            l.Dispose();
        }

        foreach (NamedPipeListener p in _pipes)
        {
            p.Dispose();
        }

        foreach (Task t in _loops)
        {
            try
            {
                await t.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
            {
            }
        }

        _stop.Dispose();
    }

    /// <summary>The request being handled on a link session: its number in the stream and its cancellation.</summary>
    private sealed class InFlightRequest(long number, CancellationTokenSource cancellation)
    {
        /// <summary>Interrupts it when it came before a break-in that followed <paramref name="messagesBefore"/> messages.</summary>
        public void InterruptIfBefore(long messagesBefore)
        {
            if (number > messagesBefore)
            {
                return;
            }

            try
            {
                cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The request ended as the byte arrived.
            }
        }
    }
}
