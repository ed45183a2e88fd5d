// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Protocol;

/// <summary>The link is closed: by either side, because the transport ended, or because the peer went silent or restarted.</summary>
public sealed class LinkClosedException : Exception
{
    public LinkClosedException()
    {
    }

    public LinkClosedException(string message)
        : base(message)
    {
    }

    public LinkClosedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
