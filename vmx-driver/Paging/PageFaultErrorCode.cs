// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>The error code of a page fault (SDM Vol. 3A, "Page-Fault Exceptions", figure "Page-Fault Error Code").</summary>
[Flags]
public enum PageFaultErrorCode : uint
{
    /// <summary>A not-present page, read by supervisor-mode data access.</summary>
    None = 0,

    /// <summary>P: 1 for a protection violation (or a reserved bit), 0 for a not-present page.</summary>
    Present = 1 << 0,

    /// <summary>W/R: the access was a write.</summary>
    Write = 1 << 1,

    /// <summary>U/S: the access was a user-mode access (CPL 3).</summary>
    User = 1 << 2,

    /// <summary>RSVD: a reserved bit was set in a paging-structure entry.</summary>
    ReservedBit = 1 << 3,

    /// <summary>I/D: the access was an instruction fetch (reported only when EFER.NXE with PAE paging, or CR4.SMEP).</summary>
    InstructionFetch = 1 << 4,
}
