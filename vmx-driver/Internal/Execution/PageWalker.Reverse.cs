// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using static HyperDbgRemote.VmxDriver.PageTableBits;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>Physical-to-linear search (<c>!pa2va</c>, <c>$pa2va</c>): the paging structures are searched for pages
/// that contain a physical address, and every candidate is confirmed by <see cref="Translate"/>, so the answer follows
/// the same rules as every translation (reserved bits, PSE-36, canonical addresses).</summary>
internal static partial class PageWalker
{
    /// <summary>The most paging-structure entries one search reads; past it the search stops with what it found.</summary>
    public const int MaxSearchEntries = 1 << 22;

    /// <summary>
    /// The linear addresses that translate to <paramref name="physical"/> (a supervisor read, no side effects), lowest
    /// first, at most <paramref name="max"/>. Without paging that is the address itself (below 4 GiB). Sets
    /// <paramref name="truncated"/> when more may exist (the limit, or the entry budget, was reached).
    /// </summary>
    public static List<ulong> FindLinear(GuestMemory memory, in PagingState state, ulong physical, int max, out bool truncated)
    {
        var search = new ReverseSearch(memory, state, physical, max);
        switch (state.Mode)
        {
            case PagingMode.None:
                if (physical <= uint.MaxValue || (state.Efer & PagingState.EferLma) != 0)
                {
                    search.Found.Add(physical);
                }

                break;
            case PagingMode.FourLevel:
                search.Table(state.Cr3 & ~0xFFFUL, 39, 4, 512, 0);
                break;
            case PagingMode.Pae:
                search.Table(state.Cr3 & ~0x1FUL, 30, 3, 4, 0);
                break;
            default:
                search.Table32(state.Cr3 & ~0xFFFUL);
                break;
        }

        truncated = search.Truncated;
        return search.Found;
    }

    private sealed class ReverseSearch(GuestMemory memory, PagingState state, ulong physical, int max)
    {
        private int _budget = MaxSearchEntries;

        public List<ulong> Found { get; } = [];

        public bool Truncated { get; private set; }

        private bool Full => Found.Count >= max || _budget <= 0;

        /// <summary>A table of 8-byte entries, each covering 2^<paramref name="shift"/> bytes; <paramref name="levels"/>
        /// counts this one and those below it.</summary>
        public void Table(ulong table, int shift, int levels, int entries, ulong linearBase)
        {
            for (int i = 0; i < entries && !Full; i++)
            {
                _budget--;
                if (!memory.TryRead(table + ((ulong)i * 8), out ulong entry) || (entry & Present) == 0)
                {
                    continue;
                }

                ulong linear = linearBase | ((ulong)i << shift);
                bool large = (entry & LargePage) != 0 && levels is 2 or 3 && !(levels == 3 && state.Mode == PagingMode.Pae);
                if (levels == 1 || large)
                {
                    ulong size = 1UL << shift;
                    ulong frame = entry & FrameMask & ~(size - 1);
                    if (physical >= frame && physical - frame < size)
                    {
                        Confirm(linear | (physical - frame));
                    }
                }
                else
                {
                    Table(entry & FrameMask, shift - 9, levels - 1, 512, linear);
                }
            }

            Truncated |= Full;
        }

        /// <summary>32-bit paging: a page directory of 4-byte entries, 4 MiB pages with CR4.PSE.</summary>
        public void Table32(ulong directory)
        {
            for (int i = 0; i < 1024 && !Full; i++)
            {
                _budget--;
                if (!memory.TryRead(directory + ((ulong)i * 4), out uint pde) || (pde & Present) == 0)
                {
                    continue;
                }

                ulong linear = (ulong)i << 22;
                if ((pde & LargePage) != 0 && (state.Cr4 & PagingState.Cr4Pse) != 0)
                {
                    ulong frame = (pde & 0xFFC0_0000UL) | ((pde & Pse36Bits) << (32 - 13));
                    if (physical >= frame && physical - frame < FourMiB)
                    {
                        Confirm(linear | (physical - frame));
                    }

                    continue;
                }

                ulong table = pde & 0xFFFF_F000UL;
                for (int j = 0; j < 1024 && !Full; j++)
                {
                    _budget--;
                    if (memory.TryRead(table + ((ulong)j * 4), out uint pte) && (pte & Present) != 0 && (pte & 0xFFFF_F000UL) == (physical & ~0xFFFUL))
                    {
                        Confirm(linear | ((ulong)j << 12) | (physical & 0xFFF));
                    }
                }
            }

            Truncated |= Full;
        }

        private void Confirm(ulong linear)
        {
            if (state.Mode == PagingMode.FourLevel && (linear & (1UL << 47)) != 0)
            {
                linear |= 0xFFFF_0000_0000_0000;
            }

            Translation t = Translate(memory, state, linear, PageAccess.Read, AccessPrivilege.Supervisor, setAccessedDirty: false, [], out _);
            if (t.IsMapped && t.Physical == physical)
            {
                Found.Add(linear);
            }
        }
    }
}
