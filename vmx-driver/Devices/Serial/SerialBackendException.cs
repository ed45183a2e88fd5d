// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices.Serial;

/// <summary>A serial backend cannot be opened; the message names it and the reason.</summary>
public sealed class SerialBackendException : Exception
{
    public SerialBackendException()
    {
    }

    public SerialBackendException(string message)
        : base(message)
    {
    }

    public SerialBackendException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
