// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// Linear-to-physical translation through the guest's page tables (SDM Vol. 3A, chapter "Paging"): none when CR0.PG is
/// clear, 4-level when EFER.LMA is set, PAE when CR4.PAE is set, else 32-bit paging with 4 MiB pages when CR4.PSE is set.
/// </summary>
internal static class PageWalker
{
    private const ulong Cr0Pg = 1UL << 31;
    private const ulong Cr4Pse = 1UL << 4;
    private const ulong Cr4Pae = 1UL << 5;
    private const ulong EferLma = 1UL << 10;
    private const ulong Present = 1;
    private const ulong PageSizeBit = 1UL << 7;
    private const ulong AddressMask = 0x000F_FFFF_FFFF_F000;

    public static bool TryTranslate(GuestMemory memory, ulong cr0, ulong cr3, ulong cr4, ulong efer, ulong linear, out ulong physical)
    {
        physical = 0;
        if ((cr0 & Cr0Pg) == 0)
        {
            physical = linear;
            return true;
        }

        if ((efer & EferLma) != 0)
        {
            ulong table = cr3 & AddressMask;
            for (int level = 3; level >= 0; level--)
            {
                int shift = 12 + (9 * level);
                ulong index = (linear >> shift) & 0x1FF;
                if (!memory.TryRead(table + (index * 8), out ulong entry) || (entry & Present) == 0)
                {
                    return false;
                }

                if (level is 1 or 2 && (entry & PageSizeBit) != 0)
                {
                    ulong pageMask = (1UL << shift) - 1;
                    physical = (entry & AddressMask & ~pageMask) | (linear & pageMask);
                    return true;
                }

                table = entry & AddressMask;
            }

            physical = table | (linear & 0xFFF);
            return true;
        }

        if ((cr4 & Cr4Pae) != 0)
        {
            if (!memory.TryRead((cr3 & 0xFFFF_FFE0) + (((linear >> 30) & 3) * 8), out ulong pdpte) || (pdpte & Present) == 0)
            {
                return false;
            }

            if (!memory.TryRead((pdpte & AddressMask) + (((linear >> 21) & 0x1FF) * 8), out ulong pde) || (pde & Present) == 0)
            {
                return false;
            }

            if ((pde & PageSizeBit) != 0)
            {
                physical = (pde & AddressMask & ~0x1F_FFFFUL) | (linear & 0x1F_FFFF);
                return true;
            }

            if (!memory.TryRead((pde & AddressMask) + (((linear >> 12) & 0x1FF) * 8), out ulong pte) || (pte & Present) == 0)
            {
                return false;
            }

            physical = (pte & AddressMask) | (linear & 0xFFF);
            return true;
        }

        if (!memory.TryRead((cr3 & 0xFFFF_F000) + (((linear >> 22) & 0x3FF) * 4), out uint pde32) || (pde32 & Present) == 0)
        {
            return false;
        }

        if ((cr4 & Cr4Pse) != 0 && (pde32 & PageSizeBit) != 0)
        {
            physical = (pde32 & 0xFFC0_0000UL) | (linear & 0x3F_FFFF);
            return true;
        }

        if (!memory.TryRead((pde32 & 0xFFFF_F000UL) + (((linear >> 12) & 0x3FF) * 4), out uint pte32) || (pte32 & Present) == 0)
        {
            return false;
        }

        physical = (pte32 & 0xFFFF_F000UL) | (linear & 0xFFF);
        return true;
    }
}
