// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace HyperDbgRemote.VmxDriver.Guests.Linux;

/// <summary>
/// A Linux bzImage as the x86 boot protocol describes it (Documentation/arch/x86/boot.rst): the setup header, and the
/// protected-mode kernel that follows the (setup_sects + 1) real-mode sectors. Only what a 64-bit boot needs is
/// accepted: protocol 2.12 or later, a bzImage (LOADED_HIGH), relocatable, with the 64-bit entry (XLF_KERNEL_64).
/// </summary>
public sealed class BzImage
{
    /// <summary>The largest kernel image accepted (a distribution bzImage is 8–15 MiB).</summary>
    public const int MaximumSize = 128 * 1024 * 1024;

    private readonly byte[] _image;

    private BzImage(byte[] image, string name)
    {
        _image = image;
        Name = name;
        ReadOnlySpan<byte> s = image;
        int sectors = s[SetupHeader.SetupSectors];
        SetupSectors = sectors == 0 ? SetupHeader.DefaultSetupSectors : sectors;
        Version = BinaryPrimitives.ReadUInt16LittleEndian(s[SetupHeader.Version..]);
        LoadFlags = s[SetupHeader.LoadFlags];
        Code32Start = BinaryPrimitives.ReadUInt32LittleEndian(s[SetupHeader.Code32Start..]);
        InitrdAddressMax = BinaryPrimitives.ReadUInt32LittleEndian(s[SetupHeader.InitrdAddressMax..]);
        KernelAlignment = BinaryPrimitives.ReadUInt32LittleEndian(s[SetupHeader.KernelAlignment..]);
        Relocatable = s[SetupHeader.RelocatableKernel] != 0;
        XLoadFlags = BinaryPrimitives.ReadUInt16LittleEndian(s[SetupHeader.XLoadFlags..]);
        CommandLineSize = BinaryPrimitives.ReadUInt32LittleEndian(s[SetupHeader.CommandLineSize..]);
        PreferredAddress = BinaryPrimitives.ReadUInt64LittleEndian(s[SetupHeader.PreferredAddress..]);
        InitSize = BinaryPrimitives.ReadUInt32LittleEndian(s[SetupHeader.InitSize..]);
        SetupHeaderEnd = SetupHeader.Magic + s[SetupHeader.Jump + 1];
        KernelVersion = ReadKernelVersion(s, SetupSize);
    }

    /// <summary>The file name, for messages.</summary>
    public string Name { get; }

    /// <summary>Sectors of real-mode setup code after the boot sector.</summary>
    public int SetupSectors { get; }

    /// <summary>Bytes before the protected-mode kernel: the boot sector and the setup code.</summary>
    public int SetupSize => (SetupSectors + 1) * SetupHeader.SectorSize;

    /// <summary>Boot protocol version, (major &lt;&lt; 8) + minor.</summary>
    public ushort Version { get; }

    /// <summary>The loadflags byte.</summary>
    public byte LoadFlags { get; }

    /// <summary>code32_start: the default load address of the protected-mode kernel.</summary>
    public uint Code32Start { get; }

    /// <summary>initrd_addr_max: the highest address the initrd may occupy.</summary>
    public uint InitrdAddressMax { get; }

    /// <summary>kernel_alignment.</summary>
    public uint KernelAlignment { get; }

    /// <summary>relocatable_kernel.</summary>
    public bool Relocatable { get; }

    /// <summary>xloadflags.</summary>
    public ushort XLoadFlags { get; }

    /// <summary>cmdline_size: the longest command line without its terminating zero.</summary>
    public uint CommandLineSize { get; }

    /// <summary>pref_address: where the kernel runs (it relocates itself there when loaded lower).</summary>
    public ulong PreferredAddress { get; }

    /// <summary>init_size: contiguous memory the kernel needs from where it runs, before it reads the memory map.</summary>
    public uint InitSize { get; }

    /// <summary>Offset just past the setup header (0x202 + the jump's offset byte).</summary>
    public int SetupHeaderEnd { get; }

    /// <summary>The kernel's version string, or empty.</summary>
    public string KernelVersion { get; }

    /// <summary>The protected-mode kernel (loaded at the load address; its 64-bit entry is 0x200 into it).</summary>
    public ReadOnlySpan<byte> ProtectedModeKernel => _image.AsSpan(SetupSize);

    /// <summary>The boot sector and the real-mode setup code, as the file holds them (<see cref="SetupSize"/> bytes).</summary>
    public ReadOnlySpan<byte> Setup => _image.AsSpan(0, SetupSize);

    /// <summary>The setup header bytes, from 0x1F1 to <see cref="SetupHeaderEnd"/>, as boot_params holds them.</summary>
    public ReadOnlySpan<byte> SetupHeaderBytes => _image.AsSpan(SetupHeader.SetupSectors, SetupHeaderEnd - SetupHeader.SetupSectors);

    /// <summary>Reads and checks a bzImage file (the size is checked before reading).</summary>
    /// <exception cref="GuestImageException">The file is missing, unreadable or not a usable bzImage.</exception>
    public static BzImage FromFile(string path) => Parse(ImageFile.Read(path, "Linux kernel", MaximumSize), path);

    /// <summary>Checks an image.</summary>
    /// <exception cref="GuestImageException">Not a usable bzImage; the message says why.</exception>
    public static BzImage Parse(byte[] image, string name) =>
        TryParse(image, name, out BzImage? kernel, out string? error) ? kernel : throw new GuestImageException(error);

    /// <summary>Checks an image; on failure <paramref name="error"/> names the file and what is wrong.</summary>
    public static bool TryParse(byte[] image, string name, [NotNullWhen(true)] out BzImage? kernel, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(image);
        kernel = null;
        error = Check(image, name);
        if (error is not null)
        {
            return false;
        }

        kernel = new BzImage(image, name);
        return true;
    }

    private static string? Check(ReadOnlySpan<byte> s, string name)
    {
        string what = $"The Linux kernel '{name}'";
        const int HeaderNeeds = SetupHeader.InitSize + 4;
        if (s.Length < HeaderNeeds || BinaryPrimitives.ReadUInt16LittleEndian(s[SetupHeader.BootFlag..]) != SetupHeader.BootFlagValue
            || BinaryPrimitives.ReadUInt32LittleEndian(s[SetupHeader.Magic..]) != SetupHeader.MagicValue)
        {
            return $"{what} is not a bzImage: it has no Linux boot-protocol header (boot flag 0xAA55 at 0x1FE and \"HdrS\" at 0x202).";
        }

        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(s[SetupHeader.Version..]);
        if (version < SetupHeader.MinimumVersion)
        {
            return $"{what} uses boot protocol {version >> 8}.{version & 0xFF:D2}, which is too old: the 64-bit entry needs protocol 2.12 or later (Linux 3.8+).";
        }

        if ((s[SetupHeader.LoadFlags] & SetupHeader.LoadedHigh) == 0)
        {
            return $"{what} is a zImage (loaded low), not a bzImage.";
        }

        if (s[SetupHeader.RelocatableKernel] == 0)
        {
            return $"{what} is not relocatable (relocatable_kernel is 0); the 64-bit boot loads it at 1 MiB and lets it relocate itself.";
        }

        if ((BinaryPrimitives.ReadUInt16LittleEndian(s[SetupHeader.XLoadFlags..]) & SetupHeader.XlfKernel64) == 0)
        {
            return $"{what} has no 64-bit entry point (xloadflags bit XLF_KERNEL_64 is clear): it is not a 64-bit kernel.";
        }

        int sectors = s[SetupHeader.SetupSectors] == 0 ? SetupHeader.DefaultSetupSectors : s[SetupHeader.SetupSectors];
        int setupSize = (sectors + 1) * SetupHeader.SectorSize;
        long protectedSize = (long)BinaryPrimitives.ReadUInt32LittleEndian(s[SetupHeader.SysSize..]) * 16;
        if (setupSize + Math.Max(protectedSize, (long)SetupHeader.Entry64Offset + 1) > s.Length)
        {
            return $"{what} is truncated: its header promises {setupSize} bytes of setup code and {protectedSize} bytes of kernel, the file has {s.Length} bytes.";
        }

        uint alignment = BinaryPrimitives.ReadUInt32LittleEndian(s[SetupHeader.KernelAlignment..]);
        uint initSize = BinaryPrimitives.ReadUInt32LittleEndian(s[SetupHeader.InitSize..]);
        if (alignment == 0 || (alignment & (alignment - 1)) != 0 || initSize == 0)
        {
            return $"{what} has an invalid header: kernel_alignment 0x{alignment:X} (must be a power of two) or init_size 0x{initSize:X} (must not be 0).";
        }

        int headerEnd = SetupHeader.Magic + s[SetupHeader.Jump + 1];
        if (headerEnd < SetupHeader.InitSize + 4 || headerEnd > SetupHeader.E820Table)
        {
            return $"{what} has an invalid header: its setup header would end at 0x{headerEnd:X}.";
        }

        return null;
    }

    private static string ReadKernelVersion(ReadOnlySpan<byte> s, int setupSize)
    {
        int pointer = BinaryPrimitives.ReadUInt16LittleEndian(s[SetupHeader.KernelVersionPointer..]);
        int at = pointer + SetupHeader.SectorSize;
        if (pointer == 0 || at >= setupSize)
        {
            return string.Empty;
        }

        ReadOnlySpan<byte> text = s[at..Math.Min(setupSize, at + 256)];
        int end = text.IndexOf((byte)0);
        return Encoding.ASCII.GetString(end < 0 ? text : text[..end]);
    }
}
