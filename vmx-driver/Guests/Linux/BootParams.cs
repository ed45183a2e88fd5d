// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;

namespace HyperDbgRemote.VmxDriver.Guests.Linux;

/// <summary>
/// Builds struct boot_params (the zero page) for the 64-bit boot protocol (boot.rst, "64-bit Boot Protocol"): zeroed,
/// the setup header copied from the image, then the fields a loader writes — type_of_loader 0xFF (undefined),
/// CAN_USE_HEAP with heap_end_ptr, code32_start, cmd_line_ptr, ramdisk_image/ramdisk_size — and the e820 map.
/// </summary>
public static class BootParams
{
    /// <summary>The zero page for <paramref name="kernel"/> laid out as <paramref name="layout"/> says.</summary>
    public static byte[] Build(BzImage kernel, LinuxBootLayout layout, IReadOnlyList<E820Entry> e820)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(e820);
        if (e820.Count > SetupHeader.E820MaxEntries)
        {
            throw new ArgumentException($"boot_params holds at most {SetupHeader.E820MaxEntries} e820 entries.", nameof(e820));
        }

        var page = new byte[SetupHeader.ZeroPageSize];
        Span<byte> zp = page;
        kernel.SetupHeaderBytes.CopyTo(zp[SetupHeader.SetupSectors..]);
        zp[SetupHeader.TypeOfLoader] = SetupHeader.UndefinedLoader;
        zp[SetupHeader.LoadFlags] |= SetupHeader.CanUseHeap;
        BinaryPrimitives.WriteUInt16LittleEndian(zp[SetupHeader.HeapEndPointer..], LinuxBootLayout.HeapEndPointer);
        BinaryPrimitives.WriteUInt32LittleEndian(zp[SetupHeader.Code32Start..], (uint)LinuxBootLayout.KernelLoadAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(zp[SetupHeader.CommandLinePointer..], (uint)LinuxBootLayout.CommandLineAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(zp[SetupHeader.RamdiskImage..], (uint)layout.InitrdAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(zp[SetupHeader.RamdiskSize..], (uint)layout.InitrdSize);
        zp[SetupHeader.E820EntryCount] = (byte)e820.Count;
        for (int i = 0; i < e820.Count; i++)
        {
            Span<byte> entry = zp.Slice(SetupHeader.E820Table + (i * E820Entry.EncodedSize), E820Entry.EncodedSize);
            BinaryPrimitives.WriteUInt64LittleEndian(entry, e820[i].Address);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[8..], e820[i].Size);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[16..], e820[i].Type);
        }

        return page;
    }
}
