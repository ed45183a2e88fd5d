// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Guests.Linux;

/// <summary>
/// The e820 memory map a Linux guest is given: the map QEMU 7.2's <c>pc</c> machine and SeaBIOS 1.16 hand a kernel for
/// the same RAM size, so the two boot logs agree. Measured with <c>-m 256</c>:
/// <code>
/// BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable
/// BIOS-e820: [mem 0x000000000009fc00-0x000000000009ffff] reserved     (the EBDA)
/// BIOS-e820: [mem 0x00000000000f0000-0x00000000000fffff] reserved     (the BIOS)
/// BIOS-e820: [mem 0x0000000000100000-0x000000000ffdffff] usable
/// BIOS-e820: [mem 0x000000000ffe0000-0x000000000fffffff] reserved     (128 KiB of firmware tables at the top of RAM)
/// BIOS-e820: [mem 0x00000000fffc0000-0x00000000ffffffff] reserved     (the BIOS flash)
/// BIOS-e820: [mem 0x000000fd00000000-0x000000ffffffffff] reserved     (the AMD HyperTransport hole QEMU reserves)
/// </code>
/// </summary>
public static class E820Map
{
    /// <summary>Start of the extended BIOS data area (SeaBIOS: 639 KiB of base memory).</summary>
    public const ulong EbdaAddress = 0x9FC00;

    /// <summary>Start of the BIOS area below 1 MiB.</summary>
    public const ulong BiosAddress = 0xF0000;

    /// <summary>1 MiB.</summary>
    public const ulong HighMemory = 0x10_0000;

    /// <summary>RAM at the top kept for firmware tables (QEMU's ACPI/SMBIOS area).</summary>
    public const ulong TopReserve = 0x2_0000;

    /// <summary>The BIOS flash below 4 GiB (256 KiB).</summary>
    public const ulong FlashAddress = 0xFFFC_0000;

    /// <summary>The HyperTransport hole (1012 GiB to 1 TiB) that QEMU 7.2 lists as reserved.</summary>
    public const ulong HyperTransportAddress = 0xFD_0000_0000;

    private const ulong FourGiB = 0x1_0000_0000;
    private const ulong OneTiB = 0x100_0000_0000;

    /// <summary>Usable RAM ends here (QEMU keeps the last 128 KiB for its tables).</summary>
    public static ulong UsableTop(ulong ramBytes) => ramBytes - TopReserve;

    /// <summary>The map for a VM with <paramref name="ramBytes"/> of RAM from address 0 (at least 2 MiB).</summary>
    public static IReadOnlyList<E820Entry> ForRam(ulong ramBytes)
    {
        if (ramBytes < 2 * HighMemory || ramBytes > FlashAddress)
        {
            throw new ArgumentOutOfRangeException(nameof(ramBytes), ramBytes, "RAM must be from 2 MiB to below the BIOS flash.");
        }

        return
        [
            new E820Entry(0, EbdaAddress, E820Entry.Ram),
            new E820Entry(EbdaAddress, 0xA0000 - EbdaAddress, E820Entry.Reserved),
            new E820Entry(BiosAddress, HighMemory - BiosAddress, E820Entry.Reserved),
            new E820Entry(HighMemory, UsableTop(ramBytes) - HighMemory, E820Entry.Ram),
            new E820Entry(UsableTop(ramBytes), TopReserve, E820Entry.Reserved),
            new E820Entry(FlashAddress, FourGiB - FlashAddress, E820Entry.Reserved),
            new E820Entry(HyperTransportAddress, OneTiB - HyperTransportAddress, E820Entry.Reserved),
        ];
    }
}
