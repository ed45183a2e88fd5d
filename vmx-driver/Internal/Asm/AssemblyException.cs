// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Asm;

/// <summary>A statement that cannot be assembled; the message names the line, the statement and the problem.</summary>
internal sealed class AssemblyException : Exception
{
    public AssemblyException()
    {
    }

    public AssemblyException(string message)
        : base(message)
    {
    }

    public AssemblyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
