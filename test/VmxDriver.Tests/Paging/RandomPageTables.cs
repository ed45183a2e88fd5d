// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Tests.Paging;

/// <summary>
/// Seeded random paging structures in an <see cref="EnginePagingHarness"/>: at every level a few populated entries
/// with random present, R/W, U/S and XD bits, large pages (2 MiB, 1 GiB, 4 MiB), now and then a reserved bit, and
/// frames anywhere in RAM (and, rarely, beyond it). <see cref="SampleAddress"/> draws linear addresses that reach every
/// level, including the entries left empty.
/// </summary>
internal sealed class RandomPageTables
{
    /// <summary>Entries populated per table (indices 0 to Fanout − 1; index Fanout is left empty).</summary>
    private const int Fanout = 6;
    private const ulong DataLow = 2UL << 20;
    private const ulong DataHigh = EnginePagingHarness.FixedPhysical;

    private static readonly int[] s_pml4Indices = [1, 2, 3, 300, 511];

    private readonly EnginePagingHarness _h;
    private readonly Random _random;
    private readonly PagingMode _mode;

    public RandomPageTables(EnginePagingHarness harness, PagingMode mode, int seed)
    {
        _h = harness;
        _mode = mode;
        _random = new Random(seed);
        Root = _h.AllocateTable();
        switch (mode)
        {
            case PagingMode.FourLevel:
                BuildFourLevel();
                break;
            case PagingMode.Pae:
                BuildPae();
                break;
            default:
                BuildThirtyTwoBit();
                break;
        }
    }

    /// <summary>CR3.</summary>
    public ulong Root { get; }

    /// <summary>A linear address: mostly through populated entries, sometimes an empty one, now and then non-canonical.</summary>
    public ulong SampleAddress(PageAccess access)
    {
        ulong offset = access == PageAccess.Execute ? (ulong)_random.Next(0, 0xFF0) : (ulong)_random.Next(0, 0x1FF) * 8;
        switch (_mode)
        {
            case PagingMode.FourLevel:
                {
                    ulong pml4 = (ulong)(_random.Next(12) == 0 ? 4 : s_pml4Indices[_random.Next(s_pml4Indices.Length)]);
                    ulong linear = (pml4 << 39) | (Index() << 30) | (Index() << 21) | (Index() << 12) | offset;
                    if (pml4 >= 256)
                    {
                        linear |= 0xFFFF_0000_0000_0000;
                    }

                    if (access != PageAccess.Execute && _random.Next(40) == 0)
                    {
                        linear ^= 1UL << 47; // non-canonical
                    }

                    return linear;
                }

            case PagingMode.Pae:
                {
                    ulong pdpt = (ulong)_random.Next(4);
                    ulong pd = Index();
                    if (pdpt == 0 && pd == 0)
                    {
                        pd = Fanout; // linear 0-2 MiB is the harness's own page
                    }

                    return (pdpt << 30) | (pd << 21) | (Index() << 12) | offset;
                }

            default:
                return ((Index() + 1) << 22) | (Index() << 12) | offset;
        }
    }

    private ulong Index() => (ulong)_random.Next(Fanout + 1);

    private bool Chance(int percent) => _random.Next(100) < percent;

    private ulong Page() => DataLow + ((ulong)_random.NextInt64((long)((DataHigh - DataLow) / 4096)) * 4096);

    private ulong LargePage(ulong size)
    {
        ulong first = (DataLow + size - 1) & ~(size - 1);
        return first + ((ulong)_random.NextInt64((long)((DataHigh - first) / size)) * size);
    }

    /// <summary>Random P (mostly set), R/W, U/S, XD; a reserved bit now and then. A/D clear.</summary>
    private ulong Flags(bool hasXd, bool thirtyTwoBit)
    {
        ulong e = 0;
        if (Chance(88))
        {
            e |= 1;
        }

        if (Chance(55))
        {
            e |= 2;
        }

        if (Chance(60))
        {
            e |= 4;
        }

        if (hasXd && Chance(25))
        {
            e |= 1UL << 63;
        }

        if (!thirtyTwoBit && Chance(4))
        {
            e |= 1UL << _random.Next(40, 52); // above the engine's 40 physical-address bits
        }

        return e;
    }

    private void BuildFourLevel()
    {
        _h.MapFixed64(Root);
        foreach (int i in s_pml4Indices)
        {
            ulong pdpt = _h.AllocateTable();
            ulong e = Flags(hasXd: true, thirtyTwoBit: false) | pdpt;
            if (Chance(3))
            {
                e |= 0x80; // PS is reserved in a PML4E
            }

            _h.Memory.TryWrite(Root + ((ulong)i * 8), e);
            for (int j = 0; j < Fanout; j++)
            {
                ulong pdpte;
                if (Chance(15))
                {
                    // 1 GiB page: the only 1 GiB frame in RAM is 0 (now and then one beyond RAM, or a reserved low bit).
                    ulong frame = Chance(10) ? 1UL << 30 : 0;
                    pdpte = Flags(true, false) | frame | 0x80 | (Chance(5) ? 1UL << 20 : 0);
                }
                else
                {
                    ulong pd = _h.AllocateTable();
                    pdpte = Flags(true, false) | pd;
                    FillDirectory(pd, entrySize: 8);
                }

                _h.Memory.TryWrite(pdpt + ((ulong)j * 8), pdpte);
            }
        }
    }

    private void BuildPae()
    {
        // The four PDPTEs: present or not, no rights bits (the engine ignores them; the walker does too), XD reserved.
        ulong fixedPd = _h.AllocateTable();
        _h.Memory.TryWrite(Root, fixedPd | 1);
        _h.Memory.TryWrite(fixedPd, EnginePagingHarness.FixedPhysical | 0x87);
        for (int j = 1; j < 4; j++)
        {
            ulong pd = _h.AllocateTable();
            ulong e = pd | (Chance(90) ? 1UL : 0) | (Chance(4) ? 1UL << 63 : 0);
            _h.Memory.TryWrite(Root + ((ulong)j * 8), e);
            FillDirectory(pd, entrySize: 8);
        }

        // PDPT[0]'s directory keeps entry 0 for the harness; fill the rest too.
        for (int k = 1; k < Fanout; k++)
        {
            _h.Memory.TryWrite(fixedPd + ((ulong)k * 8), DirectoryEntry(8));
        }
    }

    private void BuildThirtyTwoBit()
    {
        _h.Memory.TryWrite(Root, (uint)(EnginePagingHarness.FixedPhysical | 0x87)); // 4 MiB page at linear 0
        for (int k = 1; k <= Fanout; k++)
        {
            _h.Memory.TryWrite(Root + ((ulong)k * 4), (uint)DirectoryEntry(4));
        }
    }

    private void FillDirectory(ulong pd, int entrySize)
    {
        for (int k = 0; k < Fanout; k++)
        {
            ulong e = DirectoryEntry(entrySize);
            if (entrySize == 8)
            {
                _h.Memory.TryWrite(pd + ((ulong)k * 8), e);
            }
            else
            {
                _h.Memory.TryWrite(pd + ((ulong)k * 4), (uint)e);
            }
        }
    }

    /// <summary>A PDE: a large page (2 MiB, or 4 MiB in 32-bit paging with PSE-36 bits now and then) or a page table.</summary>
    private ulong DirectoryEntry(int entrySize)
    {
        bool thirtyTwoBit = entrySize == 4;
        if (Chance(25))
        {
            if (thirtyTwoBit)
            {
                ulong frame = LargePage(4UL << 20);
                ulong pse36 = Chance(5) ? 1UL << 13 : 0; // physical bit 32: beyond RAM
                ulong bit21 = Chance(4) ? 1UL << 21 : 0; // reserved
                return Flags(false, true) | frame | 0x80 | pse36 | bit21;
            }

            return Flags(true, false) | LargePage(2UL << 20) | 0x80 | (Chance(4) ? 1UL << 13 : 0);
        }

        ulong pt = _h.AllocateTable();
        for (int m = 0; m < Fanout; m++)
        {
            ulong pte = Flags(!thirtyTwoBit, thirtyTwoBit) | Page();
            if (thirtyTwoBit)
            {
                _h.Memory.TryWrite(pt + ((ulong)m * 4), (uint)pte);
            }
            else
            {
                _h.Memory.TryWrite(pt + ((ulong)m * 8), pte);
            }
        }

        return Flags(!thirtyTwoBit, thirtyTwoBit) | pt;
    }
}
