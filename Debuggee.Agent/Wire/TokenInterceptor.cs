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
    private const string BearerPrefix = "Bearer ";
    private readonly AgentSecurity _security;

    public TokenInterceptor(AgentSecurity security)
    {
        ArgumentNullException.ThrowIfNull(security);
        _security = security;
    }

    private void Check(ServerCallContext context)
    {
        if (_security.Token is null)
        {
            return;
        }

        string? header = context.RequestHeaders.GetValue("authorization");
        if (header is null || !header.StartsWith(BearerPrefix, StringComparison.Ordinal) || !_security.TokenMatches(header[BearerPrefix.Length..]))
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
internal sealed record AgentSecurity(string? Token, string? CertificatePath, string? KeyPath)
{
    /// <summary>
    /// Whether <paramref name="presented"/> is the token: true when none is required. Compared in constant time over
    /// SHA-256 digests, so neither the content nor the length of the token leaks through timing; an empty token never
    /// matches.
    /// </summary>
    public bool TokenMatches(string? presented)
    {
        if (Token is null)
        {
            return true;
        }

        if (string.IsNullOrEmpty(presented))
        {
            return false;
        }

        byte[] expected = SHA256.HashData(Encoding.UTF8.GetBytes(Token));
        byte[] actual = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        return CryptographicOperations.FixedTimeEquals(expected, actual);
    }
}
