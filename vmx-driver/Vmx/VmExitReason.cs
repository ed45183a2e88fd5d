// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>Basic VM-exit reasons (SDM Vol. 3, appendix "VMX Basic Exit Reasons") that this VMX model produces.</summary>
public enum VmExitReason
{
    /// <summary>Exception or NMI.</summary>
    ExceptionOrNmi = 0,

    /// <summary>Triple fault: the guest could not deliver an exception.</summary>
    TripleFault = 2,

    /// <summary>HLT.</summary>
    Hlt = 12,

    /// <summary>I/O instruction (IN, INS, OUT, OUTS): the one this debugger traps.</summary>
    IoInstruction = 30,
}
