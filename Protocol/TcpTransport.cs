// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Net;
using System.Net.Sockets;

namespace HyperDbgRemote.Protocol;

/// <summary>A raw TCP connection carrying the framed link (Nagle disabled).</summary>
public sealed class TcpTransport : StreamTransport
{
    private TcpTransport(TcpClient client, string description)
        : base(client.GetStream(), description, isReliable: true)
    {
    }

    /// <summary>Connects as a client.</summary>
    /// <exception cref="IOException">The connection failed or timed out.</exception>
    public static async Task<TcpTransport> ConnectAsync(string host, int port, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, IPEndPoint.MinPort + 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, IPEndPoint.MaxPort);
        var client = new TcpClient { NoDelay = true };
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            await client.ConnectAsync(host, port, deadline.Token).ConfigureAwait(false);
            return new TcpTransport(client, $"tcp {host}:{port}");
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            client.Dispose();
            throw new IOException($"cannot connect to tcp {host}:{port}: {ex.Message}", ex);
        }
    }

    /// <summary>Accepts one connection from a started listener.</summary>
    public static async Task<TcpTransport> AcceptAsync(TcpListener listener, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(listener);
        TcpClient client = await listener.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false);
        client.NoDelay = true;
        return new TcpTransport(client, $"tcp {client.Client.RemoteEndPoint} (server)");
    }
}
