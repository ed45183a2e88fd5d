// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Net;
using System.Net.Sockets;

namespace HyperDbgRemote.VmxDriver.Devices.Serial;

/// <summary>
/// A listening socket (QEMU's <c>-serial tcp::PORT,server,nowait</c> and <c>unix:PATH,server,nowait</c>): TCP on
/// 127.0.0.1 only, or a Unix-domain socket at a path. One client at a time is connected to the COM port; others wait
/// in the backlog until it leaves. A Unix socket path must be free or hold a stale socket (which is replaced); any other
/// file there is refused. The socket file is removed at the end.
/// </summary>
public sealed class SocketSerialBackend : SerialBackend
{
    private readonly object _clientLock = new();
    private readonly Socket _listener;
    private readonly string? _socketPath;
    private readonly Thread _acceptor;
    private Socket? _client;
    private long _accepted;

    private SocketSerialBackend(Socket listener, string description, string? socketPath)
        : base(description)
    {
        _listener = listener;
        _socketPath = socketPath;
        _acceptor = new Thread(AcceptLoop) { IsBackground = true, Name = $"serial-accept {description}" };
        _acceptor.Start();
    }

    /// <summary>Clients connected so far; the current one is the last (the next is accepted when it leaves).</summary>
    public long ClientsAccepted => Interlocked.Read(ref _accepted);

    /// <summary>The TCP port listened on (0 for a Unix socket).</summary>
    public int Port => (_listener.LocalEndPoint as IPEndPoint)?.Port ?? 0;

    /// <summary>Listens on 127.0.0.1:<paramref name="port"/> (0: a free port, named in the description).</summary>
    /// <exception cref="SerialBackendException">The port is in use or not allowed.</exception>
    public static SocketSerialBackend ListenTcp(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            socket.Listen(4);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new SerialBackendException($"serial backend tcp://127.0.0.1:{port}: {ex.Message}", ex);
        }

        return new SocketSerialBackend(socket, $"tcp://127.0.0.1:{((IPEndPoint)socket.LocalEndPoint!).Port}", null);
    }

    /// <summary>Listens on a Unix-domain socket at <paramref name="path"/>.</summary>
    /// <exception cref="SerialBackendException">Something other than a stale socket is there, or binding fails.</exception>
    public static SocketSerialBackend ListenUnix(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        uint? type = OperatingSystem.IsWindows() ? (File.Exists(full) || Directory.Exists(full) ? 0u : null) : UnixNative.FileType(full);
        if (type is not null && type != UnixNative.SIfsock)
        {
            throw new SerialBackendException($"serial socket 'unix:{path}': a file that is not a socket is there; it is left alone");
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            if (type is not null)
            {
                File.Delete(full); // a stale socket from an earlier run
            }

            socket.Bind(new UnixDomainSocketEndPoint(full));
            socket.Listen(4);
        }
        catch (Exception ex) when (ex is SocketException or IOException or UnauthorizedAccessException)
        {
            socket.Dispose();
            throw new SerialBackendException($"serial socket 'unix:{path}': {ex.Message}", ex);
        }

        return new SocketSerialBackend(socket, $"unix:{full}", full);
    }

    /// <inheritdoc/>
    protected override bool IsConnected
    {
        get
        {
            lock (_clientLock)
            {
                return _client is not null;
            }
        }
    }

    /// <inheritdoc/>
    protected override int ReadInput(Span<byte> buffer)
    {
        Socket? client;
        lock (_clientLock)
        {
            while (_client is null && !Stopping.IsCancellationRequested)
            {
                Monitor.Wait(_clientLock);
            }

            client = _client;
        }

        if (client is null)
        {
            return -1;
        }

        try
        {
            int n = client.Receive(buffer);
            if (n > 0)
            {
                return n;
            }
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        Drop(client);
        return 0;
    }

    /// <inheritdoc/>
    protected override bool WriteOutput(ReadOnlySpan<byte> bytes)
    {
        Socket? client;
        lock (_clientLock)
        {
            client = _client;
        }

        if (client is null)
        {
            return false;
        }

        try
        {
            client.Send(bytes);
            return true;
        }
        catch (SocketException)
        {
            Drop(client);
        }
        catch (ObjectDisposedException)
        {
        }

        return false;
    }

    /// <inheritdoc/>
    protected override void Close()
    {
        _listener.Dispose();
        lock (_clientLock)
        {
            _client?.Dispose();
            _client = null;
            Monitor.PulseAll(_clientLock);
        }

        if (_socketPath is not null)
        {
            try
            {
                File.Delete(_socketPath);
            }
            catch (IOException)
            {
            }
        }
    }

    private void AcceptLoop()
    {
        while (!Stopping.IsCancellationRequested)
        {
            lock (_clientLock)
            {
                while (_client is not null && !Stopping.IsCancellationRequested)
                {
                    Monitor.Wait(_clientLock);
                }
            }

            Socket client;
            try
            {
                client = _listener.Accept();
            }
            catch (SocketException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }

            lock (_clientLock)
            {
                _client = client;
                Interlocked.Increment(ref _accepted);
                Monitor.PulseAll(_clientLock);
            }

            ConnectionChanged();
        }
    }

    private void Drop(Socket client)
    {
        lock (_clientLock)
        {
            if (ReferenceEquals(_client, client))
            {
                _client = null;
                Monitor.PulseAll(_clientLock);
            }
        }

        client.Dispose();
        ConnectionChanged();
    }
}
