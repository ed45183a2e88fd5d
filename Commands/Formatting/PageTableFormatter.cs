// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;
using System.Text;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Formatting;

/// <summary>
/// <c>!pte</c>'s output: HyperDbg's lines (<c>VA</c>, then <c>PML4E (PXE) at ... contains ...</c> per level and
/// "PDE is a large page, so it doesn't have a PTE"), each entry followed by its frame number and WinDbg's flag string,
/// and a closing line with the physical address. Entry addresses are guest-physical.
/// </summary>
internal static class PageTableFormatter
{
    private const ulong AddressMask = 0x000F_FFFF_FFFF_F000;

    public static string Format(ulong va, TranslateAddressResponse r)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"VA {va:x}\n");
        if (r.PagingMode == "none")
        {
            sb.Append(CultureInfo.InvariantCulture, $"paging is off (CR0.PG = 0): the physical address is {r.Physical:x}\n");
            return sb.ToString();
        }

        bool thirtyTwoBit = r.PagingMode == "32-bit";
        for (int i = 0; i < r.Entries.Count; i++)
        {
            PageTableEntryValue e = r.Entries[i];
            bool leaf = r.HasPhysical && i == r.Entries.Count - 1;
            sb.Append(CultureInfo.InvariantCulture, $"{Name(e.Level)} at {e.Address:x16}\tcontains {e.Value:x16}  pfn {Frame(e.Value, thirtyTwoBit) >> 12,-8:x} {Flags(e.Value, e.Level, leaf, thirtyTwoBit)}\n");
        }

        PageTableEntryValue? last = r.Entries.Count > 0 ? r.Entries[^1] : null;
        if (r.HasPhysical && last is not null)
        {
            if (last.Level == 2)
            {
                sb.Append("PDE is a large page, so it doesn't have a PTE\n");
            }
            else if (last.Level == 3)
            {
                sb.Append("PDPTE is a large page, so it doesn't have a PDE or a PTE\n");
            }

            sb.Append(CultureInfo.InvariantCulture, $"PA {r.Physical:x} ({Size(r.PageSize)} page)\n");
        }
        else if (r.HasPageFault && last is not null)
        {
            const uint ReservedBit = 1 << 3;
            string name = Name(last.Level).Split(' ')[0];
            if ((r.PageFault & ReservedBit) != 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $"{name} has a reserved bit set: an access raises #PF with error code {r.PageFault:x}\n");
            }
            else
            {
                sb.Append(CultureInfo.InvariantCulture, $"{name} is not present: the address is not mapped (a read raises #PF with error code {r.PageFault:x})\n");
            }
        }

        return sb.ToString();
    }

    /// <summary>The entry's name as HyperDbg prints it.</summary>
    public static string Name(uint level) => level switch
    {
        4 => "PML4E (PXE)",
        3 => "PDPTE (PPE)",
        2 => "PDE",
        _ => "PTE",
    };

    private static ulong Frame(ulong value, bool thirtyTwoBit) => thirtyTwoBit ? value & 0xFFFF_F000 : value & AddressMask;

    /// <summary>WinDbg's flag string, most significant first: C (copy-on-write: never, a Windows software bit), G
    /// (global, leaf), L (large page), D (dirty, leaf), A (accessed), T (write-through), N (cache disabled), U or K
    /// (user or kernel), W or R (writable or read-only), E or - (executable or XD), V or - (present).</summary>
    public static string Flags(ulong value, uint level, bool leaf, bool thirtyTwoBit)
    {
        bool large = level is 2 or 3 && (value & (1UL << 7)) != 0;
        Span<char> f = stackalloc char[11];
        f[0] = '-';
        f[1] = leaf && (value & (1UL << 8)) != 0 ? 'G' : '-';
        f[2] = large ? 'L' : '-';
        f[3] = (leaf || large) && (value & (1UL << 6)) != 0 ? 'D' : '-';
        f[4] = (value & (1UL << 5)) != 0 ? 'A' : '-';
        f[5] = (value & (1UL << 3)) != 0 ? 'T' : '-';
        f[6] = (value & (1UL << 4)) != 0 ? 'N' : '-';
        f[7] = (value & (1UL << 2)) != 0 ? 'U' : 'K';
        f[8] = (value & (1UL << 1)) != 0 ? 'W' : 'R';
        f[9] = thirtyTwoBit || (value & (1UL << 63)) == 0 ? 'E' : '-';
        f[10] = (value & 1) != 0 ? 'V' : '-';
        return new string(f);
    }

    private static string Size(ulong bytes) => bytes switch
    {
        >= 1UL << 30 => $"{bytes >> 30} GiB",
        >= 1UL << 20 => $"{bytes >> 20} MiB",
        _ => $"{bytes >> 10} KiB",
    };
}
