// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Agent.Events;

/// <summary>A request the event manager refuses; the message names the option and the bad value.</summary>
internal sealed class EventManagerException : Exception
{
    public EventManagerException()
    {
    }

    public EventManagerException(string message)
        : base(message)
    {
    }

    public EventManagerException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public EventManagerException(string message, Protocol.Messages.Status status)
        : base(message)
    {
        Status = status;
    }

    /// <summary>The wire status of this refusal.</summary>
    public Protocol.Messages.Status Status { get; } = Protocol.Messages.Status.InvalidArgument;
}
