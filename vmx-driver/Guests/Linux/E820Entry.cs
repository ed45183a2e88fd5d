// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Guests.Linux;

/// <summary>One entry of the BIOS e820 memory map (struct boot_e820_entry: u64 addr, u64 size, u32 type).</summary>
/// <param name="Address">First byte.</param>
/// <param name="Size">Length in bytes.</param>
/// <param name="Type">1 = usable RAM, 2 = reserved.</param>
public readonly record struct E820Entry(ulong Address, ulong Size, uint Type)
{
    /// <summary>e820 type of usable RAM.</summary>
    public const uint Ram = 1;

    /// <summary>e820 type of reserved memory.</summary>
    public const uint Reserved = 2;

    /// <summary>Bytes the entry takes in boot_params.</summary>
    public const int EncodedSize = 20;

    /// <summary>One past the last byte.</summary>
    public ulong End => Address + Size;

    /// <summary>As the kernel prints it ("[mem 0x...-0x...] usable").</summary>
    public override string ToString() => $"[mem 0x{Address:x16}-0x{End - 1:x16}] {(Type == Ram ? "usable" : "reserved")}";
}
