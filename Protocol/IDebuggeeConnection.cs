// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Protocol;

/// <summary>A host's connection to an agent, whatever carries it (gRPC, the framed link, an in-process agent).</summary>
public interface IDebuggeeConnection : IAsyncDisposable
{
    /// <summary>The agent's handshake answer.</summary>
    HandshakeResponse Handshake { get; }

    /// <summary>Sends a request and waits for its answer.</summary>
    Task<AgentToHost> SendAsync(HostToAgent request, CancellationToken cancellationToken = default);

    /// <summary>The agent's notifications (halts, script output, logs), until the connection ends.</summary>
    IAsyncEnumerable<Notification> NotificationsAsync(CancellationToken cancellationToken = default);

    /// <summary>Tells the agent every notification up to <paramref name="sequence"/> was processed, so it need not keep
    /// them for a resume; best effort (a lost link is found by the other calls).</summary>
    Task AcknowledgeAsync(ulong sequence, CancellationToken cancellationToken = default);
}
