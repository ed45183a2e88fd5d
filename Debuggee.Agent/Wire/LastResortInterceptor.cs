// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Grpc.Core;
using Grpc.Core.Interceptors;
using Serilog;

namespace HyperDbgRemote.Agent.Wire;

/// <summary>
/// The gRPC service's last resort: an exception no handler expected is logged with its stack and answered with
/// <see cref="StatusCode.Internal"/> naming it, instead of gRPC's bare <c>Unknown</c>; the service keeps serving.
/// </summary>
internal sealed class LastResortInterceptor : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnexpected(ex))
        {
            throw Internal(ex, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        try
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnexpected(ex))
        {
            throw Internal(ex, context);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        try
        {
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnexpected(ex))
        {
            throw Internal(ex, context);
        }
    }

    private static bool IsUnexpected(Exception ex) => ex is not (RpcException or OperationCanceledException);

    private static RpcException Internal(Exception ex, ServerCallContext context)
    {
        Log.Error(ex, "gRPC call {Method} failed with an unexpected error", context?.Method);
        return new RpcException(new Grpc.Core.Status(StatusCode.Internal, $"internal error in the agent (logged there): {ex.GetType().Name}: {ex.Message}"));
    }
}
