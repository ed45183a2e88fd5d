// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using HyperDbgRemote.VmxDriver.Guests.Linux;

namespace HyperDbgRemote.VmxDriver.Tests.Linux;

/// <summary>Synthetic bzImages with a chosen setup header (defaults as Debian 12's 6.1 kernel has them).</summary>
internal sealed record FakeBzImage
{
    public ushort Version { get; init; } = 0x020F;

    public byte LoadFlags { get; init; } = SetupHeader.LoadedHigh;

    public byte Relocatable { get; init; } = 1;

    public ushort XLoadFlags { get; init; } = 0x7F;

    public byte SetupSectors { get; init; } = 4;

    public int KernelBytes { get; init; } = 8192;

    public uint InitSize { get; init; } = 0x3F9_8000;

    public ulong PreferredAddress { get; init; } = 0x100_0000;

    public uint Alignment { get; init; } = 0x20_0000;

    public uint CommandLineSize { get; init; } = 2047;

    public uint InitrdAddressMax { get; init; } = 0x7FFF_FFFF;

    public uint? SysSizeOverride { get; init; }

    public byte[] Build()
    {
        int setup = ((SetupSectors == 0 ? 4 : SetupSectors) + 1) * 512;
        var image = new byte[setup + KernelBytes];
        Span<byte> s = image;
        s[SetupHeader.SetupSectors] = SetupSectors;
        BinaryPrimitives.WriteUInt32LittleEndian(s[SetupHeader.SysSize..], SysSizeOverride ?? (uint)(KernelBytes / 16));
        BinaryPrimitives.WriteUInt16LittleEndian(s[SetupHeader.VideoMode..], 0xFFFF);
        BinaryPrimitives.WriteUInt16LittleEndian(s[SetupHeader.BootFlag..], SetupHeader.BootFlagValue);
        s[SetupHeader.Jump] = 0xEB;
        s[SetupHeader.Jump + 1] = 0x6A;
        BinaryPrimitives.WriteUInt32LittleEndian(s[SetupHeader.Magic..], SetupHeader.MagicValue);
        BinaryPrimitives.WriteUInt16LittleEndian(s[SetupHeader.Version..], Version);
        s[SetupHeader.LoadFlags] = LoadFlags;
        BinaryPrimitives.WriteUInt32LittleEndian(s[SetupHeader.Code32Start..], 0x10_0000);
        BinaryPrimitives.WriteUInt32LittleEndian(s[SetupHeader.InitrdAddressMax..], InitrdAddressMax);
        BinaryPrimitives.WriteUInt32LittleEndian(s[SetupHeader.KernelAlignment..], Alignment);
        s[SetupHeader.RelocatableKernel] = Relocatable;
        BinaryPrimitives.WriteUInt16LittleEndian(s[SetupHeader.XLoadFlags..], XLoadFlags);
        BinaryPrimitives.WriteUInt32LittleEndian(s[SetupHeader.CommandLineSize..], CommandLineSize);
        BinaryPrimitives.WriteUInt64LittleEndian(s[SetupHeader.PreferredAddress..], PreferredAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(s[SetupHeader.InitSize..], InitSize);
        for (int i = setup; i < image.Length; i++)
        {
            image[i] = (byte)(i * 7);
        }

        return image;
    }

    public BzImage Parse() => BzImage.Parse(Build(), "fake-bzImage");
}
