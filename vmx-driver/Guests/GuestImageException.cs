// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Guests;

/// <summary>A guest image or guest specification is unusable; the message names the file and the problem.</summary>
public sealed class GuestImageException : Exception
{
    public GuestImageException()
    {
    }

    public GuestImageException(string message)
        : base(message)
    {
    }

    public GuestImageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
