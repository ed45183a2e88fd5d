// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Grpc.Core;
using Grpc.Net.Client;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Protocol;

/// <summary>A connection to an agent's gRPC service: <c>grpc://HOST:PORT</c>, <c>grpcs://HOST:PORT</c> (TLS) or
/// <c>grpc+unix:/abs/path.sock</c>.</summary>
public sealed class GrpcDebuggeeConnection : IDebuggeeConnection
{
    private readonly GrpcChannel _channel;
    private readonly DebuggeeService.DebuggeeServiceClient _client;
    private readonly Metadata _headers;

    private GrpcDebuggeeConnection(GrpcChannel channel, Metadata headers, HandshakeResponse handshake)
    {
        _channel = channel;
        _client = new DebuggeeService.DebuggeeServiceClient(channel);
        _headers = headers;
        Handshake = handshake;
    }

    /// <inheritdoc/>
    public HandshakeResponse Handshake { get; }

    /// <summary>Connects and shakes hands; with <paramref name="acknowledge"/> the caller promises to acknowledge what it
    /// processed (see <see cref="Handshakes.Request"/>).</summary>
    /// <exception cref="ConnectionException">The agent cannot be reached, refused the token, or speaks another protocol version.</exception>
    public static async Task<GrpcDebuggeeConnection> ConnectAsync(string uri, string? token = null, TimeSpan? timeout = null, ResumePoint? resume = null, bool acknowledge = false, TlsTrust? trust = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        GrpcChannel channel = CreateChannel(uri, trust);
        var headers = new Metadata();
        if (!string.IsNullOrEmpty(token))
        {
            headers.Add("authorization", "Bearer " + token);
        }

        var client = new DebuggeeService.DebuggeeServiceClient(channel);
        HandshakeResponse response;
        try
        {
            response = await client.HandshakeAsync(
                Handshakes.Request(token, resume, acknowledge),
                headers,
                DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10)),
                cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException ex) when (FindInner<System.Security.Authentication.AuthenticationException>(ex) is { } tls)
        {
            channel.Dispose();
            string hint = trust is null
                ? "if the agent's certificate is self-signed or of a private CA, trust that CA with --tls-ca FILE"
                : $"it does not chain to a CA of {trust.Path} for this host name";
            throw new ConnectionException($"cannot connect to {uri}: the agent's TLS certificate is not trusted ({tls.Message}); {hint}.", ex);
        }
        catch (RpcException ex)
        {
            channel.Dispose();
            throw new ConnectionException($"cannot connect to {uri}: {ex.Status.Detail} ({ex.StatusCode})", ex);
        }

        if (response.Status != Messages.Status.Ok)
        {
            channel.Dispose();
            throw new ConnectionException($"{uri} refused the connection: {response.Message}");
        }

        return new GrpcDebuggeeConnection(channel, headers, response);
    }

    private static T? FindInner<T>(Exception ex)
        where T : Exception
    {
        for (Exception? e = ex is RpcException rpc ? rpc.Status.DebugException ?? ex.InnerException : ex; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }

        return null;
    }

    private static GrpcChannel CreateChannel(string uri, TlsTrust? trust)
    {
        var options = new GrpcChannelOptions { MaxReceiveMessageSize = ProtocolLimits.Default.MaxMessageBytes, MaxSendMessageSize = ProtocolLimits.Default.MaxMessageBytes };
        if (uri.StartsWith("grpc+unix:", StringComparison.OrdinalIgnoreCase))
        {
            string path = uri["grpc+unix:".Length..];
            if (!Path.IsPathRooted(path))
            {
                throw new ConnectionException($"'{uri}': a Unix socket needs an absolute path.");
            }

            var endpoint = new UnixDomainSocketEndPoint(path);
            options.HttpHandler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, ct) =>
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    try
                    {
                        await socket.ConnectAsync(endpoint, ct).ConfigureAwait(false);
                        return new NetworkStream(socket, ownsSocket: true);
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                },
            };
            return GrpcChannel.ForAddress("http://localhost", options);
        }

        string http = uri.StartsWith("grpc://", StringComparison.OrdinalIgnoreCase) ? "http://" + uri["grpc://".Length..]
            : uri.StartsWith("grpcs://", StringComparison.OrdinalIgnoreCase) ? "https://" + uri["grpcs://".Length..]
            : throw new ConnectionException($"'{uri}' is not a gRPC address: use grpc://HOST:PORT, grpcs://HOST:PORT or grpc+unix:/abs/path.sock.");
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        trust?.Apply(handler);
        options.HttpHandler = handler;
        options.InitialReconnectBackoff = TimeSpan.FromMilliseconds(20);
        return GrpcChannel.ForAddress(http, options);
    }

    /// <inheritdoc/>
    public async Task<AgentToHost> SendAsync(HostToAgent request, CancellationToken cancellationToken = default)
    {
        try
        {
            return await _client.ExecuteAsync(request, _headers, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.Unauthenticated or StatusCode.Internal)
        {
            throw new ConnectionException($"the agent did not answer: {ex.Status.Detail} ({ex.StatusCode})", ex);
        }
    }

    /// <inheritdoc/>
    public async Task AcknowledgeAsync(ulong sequence, CancellationToken cancellationToken = default)
    {
        try
        {
            await _client.ExecuteAsync(new HostToAgent { Ack = new NotificationAck { SessionId = Handshake.SessionId, Sequence = sequence } }, _headers, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException)
        {
            // The lost connection is reported by the notification stream and the next request.
        }
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<Notification> NotificationsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using AsyncServerStreamingCall<Notification> call = _client.Notifications(new NotificationsRequest { SessionId = Handshake.SessionId }, _headers, cancellationToken: cancellationToken);
        while (true)
        {
            bool next;
            try
            {
                next = await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
            {
                yield break;
            }
            catch (RpcException ex)
            {
                throw new ConnectionException($"the agent's notification stream ended: {ex.Status.Detail} ({ex.StatusCode})", ex);
            }

            if (!next)
            {
                yield break;
            }

            yield return call.ResponseStream.Current;
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        _channel.Dispose();
        return ValueTask.CompletedTask;
    }
}
