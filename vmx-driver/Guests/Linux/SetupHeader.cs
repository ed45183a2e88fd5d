// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Guests.Linux;

/// <summary>
/// Offsets and values of the Linux x86 boot protocol's setup header and zero page (Documentation/arch/x86/boot.rst,
/// "The Real-Mode Kernel Header", and zero-page.rst). Offsets are from the start of the image, which is also the start
/// of struct boot_params.
/// </summary>
public static class SetupHeader
{
    public const int SetupSectors = 0x1F1;
    public const int SysSize = 0x1F4;
    public const int VideoMode = 0x1FA;
    public const int BootFlag = 0x1FE;
    public const int Jump = 0x200;
    public const int Magic = 0x202;
    public const int Version = 0x206;
    public const int KernelVersionPointer = 0x20E;
    public const int TypeOfLoader = 0x210;
    public const int LoadFlags = 0x211;
    public const int Code32Start = 0x214;
    public const int RamdiskImage = 0x218;
    public const int RamdiskSize = 0x21C;
    public const int HeapEndPointer = 0x224;
    public const int CommandLinePointer = 0x228;
    public const int InitrdAddressMax = 0x22C;
    public const int KernelAlignment = 0x230;
    public const int RelocatableKernel = 0x234;
    public const int MinAlignment = 0x235;
    public const int XLoadFlags = 0x236;
    public const int CommandLineSize = 0x238;
    public const int PreferredAddress = 0x258;
    public const int InitSize = 0x260;

    /// <summary>boot_params.e820_entries (zero-page.rst).</summary>
    public const int E820EntryCount = 0x1E8;

    /// <summary>boot_params.e820_table: 128 entries of 20 bytes (zero-page.rst).</summary>
    public const int E820Table = 0x2D0;

    /// <summary>Entries boot_params.e820_table holds.</summary>
    public const int E820MaxEntries = 128;

    /// <summary>0xAA55 at <see cref="BootFlag"/>.</summary>
    public const ushort BootFlagValue = 0xAA55;

    /// <summary>"HdrS" at <see cref="Magic"/>.</summary>
    public const uint MagicValue = 0x5372_6448;

    /// <summary>loadflags bit 0: the protected-mode code is loaded at 0x100000 (a bzImage).</summary>
    public const byte LoadedHigh = 0x01;

    /// <summary>loadflags bit 7: heap_end_ptr is valid.</summary>
    public const byte CanUseHeap = 0x80;

    /// <summary>xloadflags bit 0: the kernel has the 64-bit entry point at 0x200 (protocol 2.12).</summary>
    public const ushort XlfKernel64 = 0x0001;

    /// <summary>type_of_loader for a loader without an assigned id ("0xFF = undefined").</summary>
    public const byte UndefinedLoader = 0xFF;

    /// <summary>The first protocol with xloadflags, so the first that can say it has a 64-bit entry (Linux 3.8).</summary>
    public const ushort MinimumVersion = 0x020C;

    /// <summary>Offset of the 64-bit entry point (startup_64) from the loaded protected-mode code.</summary>
    public const ulong Entry64Offset = 0x200;

    /// <summary>boot.rst, note (1): a setup_sects of 0 means 4.</summary>
    public const int DefaultSetupSectors = 4;

    /// <summary>Bytes in a "sector".</summary>
    public const int SectorSize = 512;

    /// <summary>Size of struct boot_params.</summary>
    public const int ZeroPageSize = 4096;
}
