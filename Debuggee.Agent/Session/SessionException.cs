// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Agent.Session;

/// <summary>A request the session refuses (bad argument, wrong state); the message says what is wrong.</summary>
internal sealed class SessionException : Exception
{
    public SessionException()
    {
    }

    public SessionException(string message)
        : base(message)
    {
    }

    public SessionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public SessionException(string message, Protocol.Messages.Status status)
        : base(message)
    {
        Status = status;
    }

    /// <summary>The wire status of this refusal.</summary>
    public Protocol.Messages.Status Status { get; } = Protocol.Messages.Status.InvalidArgument;
}
