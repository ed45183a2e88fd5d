// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Net;
using System.Net.Sockets;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Agent.Wire;
using HyperDbgRemote.Commands;
using Serilog;

namespace HyperDbgRemote.Agent.Gdb;

/// <summary>
/// <c>--listen gdb://127.0.0.1:PORT</c>: the GDB remote serial protocol for gdb and the tools that speak it, on loopback
/// (the protocol has no TLS or token). One gdb client at a time; a second is answered with an error naming the reason
/// and closed. The host debugger may be attached meanwhile: halts reach both. <c>monitor CMD</c> runs a debugger
/// command through the same in-process path as <c>--script</c> and returns its output.
/// </summary>
internal sealed class GdbServer : IAsyncDisposable
{
    private readonly DebuggeeSession _session;
    private readonly NotificationHub _hub;
    private readonly RequestDispatcher _dispatcher;
    private readonly ExecutionControl _control;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpListener> _listeners = [];
    private readonly List<Task> _loops = [];
    private int _busy;
    private int _clients;

    public GdbServer(DebuggeeSession session, NotificationHub hub, RequestDispatcher dispatcher)
    {
        _session = session;
        _hub = hub;
        _dispatcher = dispatcher;
        _control = new ExecutionControl(session);
    }

    /// <summary>Where it listens (with actual ports).</summary>
    public List<string> Addresses { get; } = [];

    /// <summary>Starts listening.</summary>
    /// <exception cref="InvalidOperationException">Not a loopback address.</exception>
    public void Listen(ListenUri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!uri.IsLocal)
        {
            throw new InvalidOperationException($"refusing to listen on {uri.Text}: the gdb protocol has no TLS or token; listen on 127.0.0.1 (and forward it with ssh -L).");
        }

        TcpListener listener = TcpListening.Start(uri, (int)SocketOptionName.MaxConnections);
        _listeners.Add(listener);
        var end = (IPEndPoint)listener.LocalEndpoint;
        Addresses.Add($"gdb://{end.Address}:{end.Port}");
        _loops.Add(Task.Run(() => AcceptLoopAsync(listener, _stop.Token)));
    }

    private async Task AcceptLoopAsync(TcpListener listener, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException ex)
            {
                Log.Warning("gdb accept failed: {Message}", ex.Message);
                continue;
            }

            client.NoDelay = true;
            _ = Task.Run(() => ServeAsync(client, stop), CancellationToken.None);
        }
    }

    private async Task ServeAsync(TcpClient client, CancellationToken stop)
    {
        using (client)
        {
            NetworkStream stream = client.GetStream();
            if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
            {
                Log.Warning("gdb client {Peer} refused: another gdb client is attached", client.Client.RemoteEndPoint);
                await RefuseAsync(stream, stop).ConfigureAwait(false);
                return;
            }

            Log.Information("gdb client {Peer} attached", client.Client.RemoteEndPoint);
            try
            {
                await new GdbConnection(_session, _control, RunMonitorAsync, stream, Interlocked.Increment(ref _clients)).RunAsync(stop).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Last resort: nothing a client does may end the listener; it is logged.
            catch (Exception ex)
            {
                Log.Error(ex, "gdb connection failed");
            }
#pragma warning restore CA1031
            finally
            {
                Volatile.Write(ref _busy, 0);
                Log.Information("gdb client detached");
            }
        }
    }

    /// <summary>Answers the second client's first packet with the reason, then closes.</summary>
    private static async Task RefuseAsync(NetworkStream stream, CancellationToken stop)
    {
        var decoder = new GdbPacketDecoder(64 * 1024);
        var inputs = new List<GdbInput>();
        byte[] buffer = new byte[4096];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            while (!inputs.Exists(i => i.Kind is GdbInputKind.Packet or GdbInputKind.TooLong))
            {
                int n = await stream.ReadAsync(buffer, timeout.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    return;
                }

                decoder.Feed(buffer.AsSpan(0, n), inputs);
            }

            await stream.WriteAsync("+"u8.ToArray(), timeout.Token).ConfigureAwait(false);
            await stream.WriteAsync(GdbPacketDecoder.Frame("E.another gdb client is attached to this agent (one at a time)"), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
        }
    }

    private async Task<string> RunMonitorAsync(string command, CancellationToken cancellationToken)
    {
        using var writer = new StringWriter();
        var output = new HostOutput(writer, writer, json: false);
        await using var debugger = new DebugSession(output);
        await debugger.AttachAsync(InProcessConnection.Attach(_session, _hub, _dispatcher), announceKnownHalts: false).ConfigureAwait(false);
        writer.GetStringBuilder().Clear(); // the attach banner
        var runner = new CommandRunner(debugger, output, interactive: false);
        await runner.RunAsync(command).ConfigureAwait(false);
        return writer.ToString();
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (TcpListener l in _listeners)
        {
            l.Stop();
        }

        await Task.WhenAll(_loops).ConfigureAwait(false);
        _stop.Dispose();
    }
}
