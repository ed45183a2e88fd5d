// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>The CPU engine library (Unicorn 2) is not installed; the message says which package provides it.</summary>
public sealed class CpuEngineUnavailableException : Exception
{
    public CpuEngineUnavailableException()
    {
    }

    public CpuEngineUnavailableException(string message)
        : base(message)
    {
    }

    public CpuEngineUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
