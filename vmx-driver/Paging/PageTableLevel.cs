// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>The level of a paging-structure entry, named as in HyperDbg's <c>!pte</c> (PML4E, PDPTE, PDE, PTE).</summary>
public enum PageTableLevel
{
    /// <summary>A page-table entry: maps a 4 KiB page.</summary>
    Pte = 1,

    /// <summary>A page-directory entry: references a page table, or maps a 2 MiB (4 MiB in 32-bit paging) page.</summary>
    Pde = 2,

    /// <summary>A page-directory-pointer-table entry: references a page directory, or maps a 1 GiB page.</summary>
    Pdpte = 3,

    /// <summary>A PML4 entry: references a page-directory-pointer table.</summary>
    Pml4e = 4,
}
