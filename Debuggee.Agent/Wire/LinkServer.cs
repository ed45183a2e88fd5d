// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
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

    public LinkServer(DebuggeeSession session, RequestDispatcher dispatcher, NotificationHub hub, AgentSecurity security)
    {
        _session = session;
        _dispatcher = dispatcher;
        _hub = hub;
        _security = security;
    }

    /// <summary>Where it listens (with actual TCP ports).</summary>
    public List<string> Addresses { get; } = [];

    /// <summary>Starts listening on <paramref name="uri"/>.</summary>
    /// <exception cref="InvalidOperationException">Raw TCP beyond loopback (it has no TLS), or a bad serial line.</exception>
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

                var listener = new TcpListener(uri.Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(uri.Host.Trim('[', ']')), uri.Port);
                listener.Start();
                _listeners.Add(listener);
                Addresses.Add($"tcp://{((IPEndPoint)listener.LocalEndpoint).Address}:{((IPEndPoint)listener.LocalEndpoint).Port}");
                _loops.Add(Task.Run(() => AcceptLoopAsync(() => TcpTransport.AcceptAsync(listener, stop).ContinueWith(t => (ITransport)t.Result, TaskScheduler.Default), stop)));
                break;
            case "pipe":
                Addresses.Add("pipe:" + uri.Path);
                _loops.Add(Task.Run(() => AcceptLoopAsync(async () => await NamedPipeTransport.AcceptAsync(uri.Path, stop).ConfigureAwait(false), stop)));
                WaitForSocket(uri.Path);
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

    /// <summary>An absolute socket path exists once the listener is bound: the agent is ready only then.</summary>
    private static void WaitForSocket(string path)
    {
        if (!Path.IsPathRooted(path) || OperatingSystem.IsWindows())
        {
            return;
        }

        for (int i = 0; i < 200 && !File.Exists(path); i++)
        {
            Thread.Sleep(10);
        }
    }

    private async Task AcceptLoopAsync(Func<Task<ITransport>> accept, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            ITransport transport;
            try
            {
                transport = await accept().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException or AggregateException or IOException)
            {
                if (stop.IsCancellationRequested)
                {
                    return;
                }

                Log.Warning("accepting a debugger failed: {Error}", ex.Message);
                await Task.Delay(200, stop).ConfigureAwait(false);
                continue;
            }

            _ = Task.Run(() => ServeAsync(transport, stop), stop);
        }
    }

    private async Task SerialLoopAsync(SerialTransport first, ListenUri uri, CancellationToken stop)
    {
        ITransport? transport = first;
        while (!stop.IsCancellationRequested)
        {
            if (transport is null)
            {
                await Task.Delay(500, stop).ConfigureAwait(false);
                if (!SerialTransport.TryOpen(uri.Path, uri.Baud, out SerialTransport? again, out string? error))
                {
                    Log.Warning("serial line {Path} cannot be reopened yet: {Error}", uri.Path, error);
                    continue;
                }

                transport = again;
            }

            await ServeAsync(transport, stop).ConfigureAwait(false);
            transport = null;
        }
    }

    /// <summary>One debugger on one transport: requests in order, notifications as they come.</summary>
    private async Task ServeAsync(ITransport transport, CancellationToken stop)
    {
        await using var link = new ReliableLink<AgentToHost, HostToAgent>(transport);

        // The break-in byte (the debugger's Ctrl+C) interrupts the request being handled (a script running on the
        // halted core) and halts a running guest.
        CancellationTokenSource? inFlight = null;
        link.BreakInReceived += (_, _) =>
        {
            try
            {
                Volatile.Read(ref inFlight)?.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The request ended as the byte arrived.
            }

            _ = Task.Run(() => _session.Pause(TimeSpan.FromSeconds(2)));
        };
        using var sendLock = new SemaphoreSlim(1, 1);

        // On a paced line (serial) a 64 KiB frame takes seconds: batches go out in frames of about a quarter second.
        int chunk = transport.BytesPerSecond > 0
            ? Math.Clamp(transport.BytesPerSecond / 4, MinPacedChunk, link.MaxMessageBytes)
            : link.MaxMessageBytes;
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
        IDisposable? subscription = null;
        Task? notifications = null;
        Log.Information("debugger connected on {Transport}", transport.Description);
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

                    if (!TokenMatches(request.Handshake.Token))
                    {
                        await Send(new AgentToHost { RequestId = request.RequestId, Handshake = new HandshakeResponse { Status = Status.PermissionDenied, Message = "a valid token is required." } }, done.Token).ConfigureAwait(false);
                        break;
                    }

                    AgentToHost hello = _dispatcher.Handle(request, done.Token);
                    await Send(hello, done.Token).ConfigureAwait(false);
                    if (hello.Handshake.Status != Status.Ok)
                    {
                        break;
                    }

                    (var reader, IDisposable handle) = _hub.Subscribe();
                    subscription = handle;
                    notifications = Task.Run(async () =>
                    {
                        await foreach (Notification n in reader.ReadAllAsync(done.Token).ConfigureAwait(false))
                        {
                            foreach (AgentToHost piece in Notifications.ForLink(n, chunk))
                            {
                                await Send(piece, done.Token).ConfigureAwait(false);
                            }
                        }
                    }, CancellationToken.None);
                    continue;
                }

                AgentToHost reply;
                using (var requestCancellation = CancellationTokenSource.CreateLinkedTokenSource(done.Token))
                {
                    Volatile.Write(ref inFlight, requestCancellation);
                    try
                    {
                        reply = await Task.Run(() => _dispatcher.Handle(request, requestCancellation.Token), done.Token).ConfigureAwait(false);
                    }
                    finally
                    {
                        Volatile.Write(ref inFlight, null);
                    }
                }

                await Send(reply, done.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is LinkClosedException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            Log.Information("debugger on {Transport} gone: {Reason}", transport.Description, ex.Message);
        }
        finally
        {
            await done.CancelAsync().ConfigureAwait(false);
            subscription?.Dispose();
            if (notifications is not null)
            {
                try
                {
                    await notifications.ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is OperationCanceledException or LinkClosedException or IOException or ObjectDisposedException)
                {
                }
            }
        }
    }

    private bool TokenMatches(string token) =>
        _security.Token is null || CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(_security.Token));

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (TcpListener l in _listeners)
        {
            l.Stop();
            l.Dispose();
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
}
