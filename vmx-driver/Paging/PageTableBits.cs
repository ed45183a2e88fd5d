// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>The flag bits of a paging-structure entry (Intel SDM vol. 3A, 4.3–4.5): the one home of these numbers for
/// the page walker, the guest loaders' page tables and <see cref="PageTableEntry"/>.</summary>
public static class PageTableBits
{
    /// <summary>Bit 0, P.</summary>
    public const ulong Present = 1UL << 0;

    /// <summary>Bit 1, R/W.</summary>
    public const ulong Writable = 1UL << 1;

    /// <summary>Bit 2, U/S.</summary>
    public const ulong User = 1UL << 2;

    /// <summary>Bit 5, A.</summary>
    public const ulong Accessed = 1UL << 5;

    /// <summary>Bit 6, D (leaf entries).</summary>
    public const ulong Dirty = 1UL << 6;

    /// <summary>Bit 7 of a PDE or PDPTE, PS: the entry maps a page.</summary>
    public const ulong LargePage = 1UL << 7;

    /// <summary>Bit 8, G (leaf entries).</summary>
    public const ulong Global = 1UL << 8;

    /// <summary>Bit 12 of a large-page entry, PAT (so not part of its frame).</summary>
    public const ulong LargePagePat = 1UL << 12;

    /// <summary>Bit 63, XD (PAE and 4-level paging).</summary>
    public const ulong ExecuteDisable = 1UL << 63;

    /// <summary>Bits 12–51: the frame an entry references.</summary>
    public const ulong FrameMask = 0x000F_FFFF_FFFF_F000;
}
