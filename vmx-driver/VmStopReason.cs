// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>Why a VM run ended.</summary>
public enum VmStopReason
{
    /// <summary><see cref="VirtualMachine.Stop"/> was called.</summary>
    Requested,

    /// <summary>The guest wrote to the debug-exit port.</summary>
    DebugExit,

    /// <summary>A fault the guest could not handle (triple fault, unmapped memory, invalid instruction, internal error).</summary>
    Fault,

    /// <summary>Every core executed HLT with no interrupt to wake it.</summary>
    AllCoresHalted,

    /// <summary>The guest reset the machine (i8042 pulse 0xFE, PIIX3 port 0xCF9, port 0x92 bit 0); the report says how.</summary>
    Reset,
}
