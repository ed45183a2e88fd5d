// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Protocol;

/// <summary>The handshake every .NET host sends: this protocol version, the token, notification acknowledgements, and
/// the session to resume after a lost link.</summary>
public static class Handshakes
{
    /// <summary>The capability of hosts that acknowledge notifications.</summary>
    public const string AcknowledgeCapability = "notification-acks";

    /// <summary>The client name hosts send.</summary>
    public const string ClientName = "hyperdbg 1.0";

    /// <summary>A handshake request. With <paramref name="acknowledge"/> the host promises to acknowledge the
    /// notifications it has processed (<see cref="IDebuggeeConnection.AcknowledgeAsync"/>): the agent then keeps what it
    /// has not acknowledged for a resumed session or the next host. Without it, a notification counts as delivered once
    /// written to the host.</summary>
    public static HandshakeRequest Request(string? token, ResumePoint? resume, bool acknowledge = false)
    {
        var request = new HandshakeRequest { ProtocolVersion = ProtocolVersion.Current, ClientName = ClientName, Token = token ?? string.Empty };
        if (acknowledge)
        {
            request.Capabilities.Add(AcknowledgeCapability);
        }

        if (resume is not null)
        {
            request.ResumeSession = resume.SessionId;
            request.LastNotification = resume.LastNotification;
        }

        return request;
    }
}
