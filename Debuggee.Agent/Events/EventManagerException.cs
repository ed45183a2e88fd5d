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
}
