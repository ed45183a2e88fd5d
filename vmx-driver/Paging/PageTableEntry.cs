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
    public bool IsPresent => (Value & 1) != 0;

    /// <summary>Bit 1, R/W.</summary>
    public bool IsWritable => (Value & (1UL << 1)) != 0;

    /// <summary>Bit 2, U/S.</summary>
    public bool IsUser => (Value & (1UL << 2)) != 0;

    /// <summary>Bit 5, A.</summary>
    public bool IsAccessed => (Value & (1UL << 5)) != 0;

    /// <summary>Bit 6, D (leaf entries).</summary>
    public bool IsDirty => (Value & (1UL << 6)) != 0;

    /// <summary>Bit 7 of a PDE or PDPTE, PS: the entry maps a page.</summary>
    public bool IsLargePage => Level is PageTableLevel.Pde or PageTableLevel.Pdpte && (Value & (1UL << 7)) != 0;

    /// <summary>Bit 8, G (leaf entries).</summary>
    public bool IsGlobal => (Value & (1UL << 8)) != 0;

    /// <summary>Bit 63, XD.</summary>
    public bool IsExecuteDisabled => (Value & (1UL << 63)) != 0;

    /// <summary>The physical address the entry references (a table or a page frame), bits 12 to 51 (PSE-36 bits of a
    /// 32-bit 4 MiB page are in <see cref="PageWalk.Physical"/>).</summary>
    public ulong Frame => Value & 0x000F_FFFF_FFFF_F000;
}
