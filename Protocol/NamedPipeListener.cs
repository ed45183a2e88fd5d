// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.IO.Pipes;
using System.Net.Sockets;

namespace HyperDbgRemote.Protocol;

/// <summary>
/// The server side of <see cref="NamedPipeTransport"/>: one listener that stays open and accepts any number of clients,
/// each on its own transport. A Unix socket path is bound once with a backlog (an existing path is replaced only when it
/// is a stale socket, <see cref="UnixSocketPath.PrepareForListening"/>); a named pipe always has a server instance
/// waiting, so simultaneous connects all succeed.
/// </summary>
public sealed class NamedPipeListener : IDisposable
{
    /// <summary>Connections waiting to be accepted on a Unix socket.</summary>
    public const int Backlog = 64;

    private readonly string _name;
    private readonly Socket? _socket;
    private NamedPipeServerStream? _waiting;
    private bool _disposed;

    private NamedPipeListener(string name, Socket? socket)
    {
        _name = name;
        _socket = socket;
    }

    /// <summary>The normalised name or socket path.</summary>
    public string Name => _name;

    /// <summary>Starts listening.</summary>
    /// <exception cref="ArgumentException">The name is invalid.</exception>
    /// <exception cref="IOException">The socket path is taken by something that is not a stale socket, or binding failed.</exception>
    public static NamedPipeListener Start(string name)
    {
        if (!NamedPipeTransport.TryNormalizeName(name, out string? normalized, out bool isSocketPath, out string? error))
        {
            throw new ArgumentException(error, nameof(name));
        }

        if (!isSocketPath)
        {
            var pipes = new NamedPipeListener(normalized, null);
            pipes._waiting = pipes.NewInstance();
            return pipes;
        }

        UnixSocketPath.PrepareForListening(normalized);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(normalized));
            socket.Listen(Backlog);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new IOException($"cannot listen on unix socket '{normalized}': {ex.Message}", ex);
        }

        return new NamedPipeListener(normalized, socket);
    }

    /// <summary>Waits for the next client.</summary>
    public async Task<NamedPipeTransport> AcceptAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_socket is not null)
        {
            Socket client = await _socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
            return NamedPipeTransport.FromStream(new NetworkStream(client, ownsSocket: true), $"unix socket {_name} (server)");
        }

        NamedPipeServerStream pipe = _waiting!;
        await pipe.WaitForConnectionAsync(cancellationToken).ConfigureAwait(false);
        _waiting = NewInstance(); // the next client finds an instance waiting
        return NamedPipeTransport.FromStream(pipe, $"named pipe {_name} (server)");
    }

    private NamedPipeServerStream NewInstance() =>
        new(_name, PipeDirection.InOut, NamedPipeServerStream.MaxAllowedServerInstances, PipeTransmissionMode.Byte, PipeOptions.Asynchronous);

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _waiting?.Dispose();
        if (_socket is not null)
        {
            _socket.Dispose();
            try
            {
                File.Delete(_name);
            }
            catch (IOException)
            {
                // Best effort: a stale socket file is replaced at the next start.
            }
        }
    }
}
