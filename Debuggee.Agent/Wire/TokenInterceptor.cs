// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace HyperDbgRemote.Agent.Wire;

/// <summary>Refuses calls without the right bearer token (required whenever the agent listens beyond loopback).</summary>
internal sealed class TokenInterceptor : Interceptor
{
    private readonly byte[] _expected;

    public TokenInterceptor(AgentSecurity security)
    {
        ArgumentNullException.ThrowIfNull(security);
        _expected = Encoding.UTF8.GetBytes("Bearer " + (security.Token ?? string.Empty));
        Enabled = security.Token is not null;
    }

    public bool Enabled { get; }

    private void Check(ServerCallContext context)
    {
        if (!Enabled)
        {
            return;
        }

        string? header = context.RequestHeaders.GetValue("authorization");
        if (header is null || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header), _expected))
        {
            throw new RpcException(new Grpc.Core.Status(StatusCode.Unauthenticated, "a valid bearer token is required (authorization: Bearer TOKEN)."));
        }
    }

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(continuation);
        Check(context);
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(continuation);
        Check(context);
        return continuation(request, responseStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(continuation);
        Check(context);
        return continuation(requestStream, responseStream, context);
    }
}

/// <summary>TLS and token settings: required as soon as one listen address is not loopback.</summary>
internal sealed record AgentSecurity(string? Token, string? CertificatePath, string? KeyPath);
