// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using static HyperDbgRemote.VmxDriver.PageTableBits;

namespace HyperDbgRemote.VmxDriver.Guests;

/// <summary>Builds 4-level page tables that identity-map the first 4 GiB with 2 MiB pages (writable, executable): all
/// RAM a VM can have (up to 3 GiB) and the 32-bit MMIO hole above it.</summary>
public static class IdentityMap
{
    /// <summary>Page directories: one per GiB mapped.</summary>
    public const int Directories = 4;

    /// <summary>Bytes the tables need: PML4, PDPT, the page directories and a page with the GDT.</summary>
    public const ulong TablesSize = (3 + Directories) * GuestMemory.PageSize;

    /// <summary>The 64-bit code segment selector in the GDT.</summary>
    public const ushort CodeSelector = 0x08;

    /// <summary>The data segment selector in the GDT.</summary>
    public const ushort DataSelector = 0x10;

    /// <summary>Null, 64-bit code (DPL 0, L=1), data (DPL 0, writable, 4 GiB).</summary>
    private static readonly ulong[] s_gdt = [0, 0x00AF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF];

    /// <summary>Offset of the GDT from the tables' root.</summary>
    public const ulong GdtOffset = (2 + Directories) * GuestMemory.PageSize;

    /// <summary>GDTR limit of the GDT.</summary>
    public const uint GdtLimit = 3 * 8 - 1;

    private const ulong TwoMiB = 2 * 1024 * 1024;

    /// <summary>Writes the tables at <paramref name="root"/> (page aligned) and returns the CR3 value.</summary>
    public static ulong Build(GuestMemory memory, ulong root)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ulong pdpt = root + GuestMemory.PageSize;
        ulong directories = pdpt + GuestMemory.PageSize;
        memory.Write(root, new byte[TablesSize]);
        memory.TryWrite(root, pdpt | Present | Writable);
        for (ulong d = 0; d < Directories; d++)
        {
            ulong pd = directories + (d * GuestMemory.PageSize);
            memory.TryWrite(pdpt + (d * 8), pd | Present | Writable);
            for (ulong i = 0; i < 512; i++)
            {
                memory.TryWrite(pd + (i * 8), (((d * 512) + i) * TwoMiB) | Present | Writable | LargePage);
            }
        }

        for (int i = 0; i < s_gdt.Length; i++)
        {
            memory.TryWrite(root + GdtOffset + (ulong)(i * 8), s_gdt[i]);
        }

        return root;
    }
}
