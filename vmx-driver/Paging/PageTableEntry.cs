// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>
/// One paging-structure entry met by a walk: its level, its guest-physical address and its value (32 bits wide in
/// 32-bit paging). The flag accessors follow the SDM's entry formats; <see cref="IsLargePage"/> is the PS bit of a
/// PDE or PDPTE.
/// </summary>
public readonly record struct PageTableEntry(PageTableLevel Level, ulong Address, ulong Value)
{
    /// <summary>Bit 0, P.</summary>
    public bool IsPresent => (Value & PageTableBits.Present) != 0;

    /// <summary>Bit 1, R/W.</summary>
    public bool IsWritable => (Value & PageTableBits.Writable) != 0;

    /// <summary>Bit 2, U/S.</summary>
    public bool IsUser => (Value & PageTableBits.User) != 0;

    /// <summary>Bit 5, A.</summary>
    public bool IsAccessed => (Value & PageTableBits.Accessed) != 0;

    /// <summary>Bit 6, D (leaf entries).</summary>
    public bool IsDirty => (Value & PageTableBits.Dirty) != 0;

    /// <summary>Bit 7 of a PDE or PDPTE, PS: the entry maps a page.</summary>
    public bool IsLargePage => Level is PageTableLevel.Pde or PageTableLevel.Pdpte && (Value & PageTableBits.LargePage) != 0;

    /// <summary>Bit 8, G (leaf entries).</summary>
    public bool IsGlobal => (Value & PageTableBits.Global) != 0;

    /// <summary>Bit 63, XD.</summary>
    public bool IsExecuteDisabled => (Value & PageTableBits.ExecuteDisable) != 0;

    /// <summary>The physical address the entry references (a table or a page frame), bits 12 to 51 (PSE-36 bits of a
    /// 32-bit 4 MiB page are in <see cref="PageWalk.Physical"/>).</summary>
    public ulong Frame => Value & PageTableBits.FrameMask;
}
