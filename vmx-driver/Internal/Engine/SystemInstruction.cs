// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Engine;

/// <summary>The fast system-call instructions the engine only reports (<see cref="IExecutionCallbacks.OnSystemInstruction"/>).</summary>
internal enum SystemInstruction
{
    /// <summary>SYSCALL (0F 05).</summary>
    Syscall,

    /// <summary>SYSENTER (0F 34).</summary>
    Sysenter,
}
