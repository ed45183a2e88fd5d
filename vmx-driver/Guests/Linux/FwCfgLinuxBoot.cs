// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using HyperDbgRemote.VmxDriver.Devices;

namespace HyperDbgRemote.VmxDriver.Guests.Linux;

/// <summary>
/// A Linux kernel offered to the firmware through fw_cfg as QEMU 7.2's <c>-kernel</c> does (hw/i386/x86.c,
/// x86_load_linux, for a "high and recent" bzImage): the real-mode setup code with its header patched as a boot loader
/// patches it, the protected-mode kernel, the initrd and the command line, each as an address, a size and the data
/// (FW_CFG_KERNEL_ADDR 0x07 .. FW_CFG_SETUP_DATA 0x18), and the option ROM that loads them,
/// <c>genroms/linuxboot_dma.bin</c>, first in the file <c>bootorder</c>, so SeaBIOS runs it and boots from it.
/// </summary>
public static class FwCfgLinuxBoot
{
    /// <summary>Debian's copy of QEMU's option ROM (package qemu-system-data).</summary>
    public const string DefaultOptionRomPath = "/usr/share/qemu/linuxboot_dma.bin";

    /// <summary>The fw_cfg file the option ROM is offered as (QEMU's rom_add_option puts it under "genroms").</summary>
    public const string OptionRomFile = "genroms/linuxboot_dma.bin";

    /// <summary>The boot order QEMU gives the firmware for -kernel: the option ROM, bootindex 0.</summary>
    public const string BootOrder = "/rom@" + OptionRomFile;

    /// <summary>type_of_loader QEMU writes: 0xB0 ("high nybble B reserved for QEMU", revision 0).</summary>
    public const byte QemuLoader = 0xB0;

    /// <summary>Where the setup code goes (real_addr): boot_params at 0x10000.</summary>
    public const uint SetupAddress = (uint)LinuxBootLayout.BootParamsAddress;

    /// <summary>Where the command line goes (cmdline_addr).</summary>
    public const uint CommandLineAddress = (uint)LinuxBootLayout.CommandLineAddress;

    /// <summary>Where the protected-mode kernel goes (prot_addr).</summary>
    public const uint KernelAddress = (uint)LinuxBootLayout.KernelLoadAddress;

    private const int OptionRomSignature = 0xAA55;
    private const int OptionRomBlock = 512;

    /// <summary>Reads the option ROM.</summary>
    /// <exception cref="GuestImageException">It is missing (the message names Debian's package) or not an option ROM.</exception>
    public static byte[] ReadOptionRom(string path = DefaultOptionRomPath)
    {
        if (!File.Exists(path))
        {
            throw new GuestImageException(
                $"Booting a kernel through the BIOS needs QEMU's option ROM '{path}', which loads the kernel from fw_cfg; it does not exist: install Debian's package qemu-system-data (apt-get install qemu-system-data).");
        }

        byte[] rom = ImageFile.Read(path, "option ROM", 64 * 1024);
        if (rom.Length < OptionRomBlock || BinaryPrimitives.ReadUInt16LittleEndian(rom) != OptionRomSignature || rom[2] * OptionRomBlock > rom.Length)
        {
            throw new GuestImageException($"The option ROM '{path}' is not a PC option ROM (no 0x55 0xAA signature, or shorter than the size its header gives).");
        }

        return rom;
    }

    /// <summary>
    /// The setup code as QEMU hands it to the firmware: the file's boot sector and setup code with the header patched
    /// (x86_load_linux): <c>cmd_line_ptr</c>, <c>vid_mode</c> for a <c>vga=</c> option, <c>type_of_loader</c> 0xB0,
    /// CAN_USE_HEAP in <c>loadflags</c> with <c>heap_end_ptr</c> = cmdline_addr - real_addr - 0x200, and the initrd's
    /// address and size.
    /// </summary>
    /// <exception cref="GuestImageException">A <c>vga=</c> value QEMU refuses.</exception>
    public static byte[] PatchedSetup(BzImage kernel, string commandLine, ulong initrdAddress, ulong initrdSize)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(commandLine);
        byte[] setup = kernel.Setup.ToArray();
        Span<byte> s = setup;
        BinaryPrimitives.WriteUInt32LittleEndian(s[SetupHeader.CommandLinePointer..], CommandLineAddress);
        if (VideoMode(commandLine) is ushort mode)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(s[SetupHeader.VideoMode..], mode);
        }

        s[SetupHeader.TypeOfLoader] = QemuLoader;
        s[SetupHeader.LoadFlags] |= SetupHeader.CanUseHeap;
        BinaryPrimitives.WriteUInt16LittleEndian(s[SetupHeader.HeapEndPointer..], LinuxBootLayout.HeapEndPointer);
        if (initrdSize > 0)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(s[SetupHeader.RamdiskImage..], (uint)initrdAddress);
            BinaryPrimitives.WriteUInt32LittleEndian(s[SetupHeader.RamdiskSize..], (uint)initrdSize);
        }

        return setup;
    }

    /// <summary>
    /// Puts the kernel, the initrd (optional) and the command line into <paramref name="fwCfg"/> with the option ROM
    /// and the boot order, as x86_load_linux and rom_add_option do. <paramref name="layout"/> (computed for the VM's
    /// RAM) gives the initrd's address: <c>(initrd_max - size) &amp; ~4095</c>.
    /// </summary>
    /// <exception cref="GuestImageException">A <c>vga=</c> value QEMU refuses; nothing is changed then.</exception>
    public static void Install(FwCfg fwCfg, BzImage kernel, byte[]? initrd, string commandLine, LinuxBootLayout layout, byte[] optionRom)
    {
        ArgumentNullException.ThrowIfNull(fwCfg);
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(commandLine);
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(optionRom);
        byte[] setup = PatchedSetup(kernel, commandLine, layout.InitrdAddress, initrd is null ? 0 : (ulong)initrd.Length);
        byte[] line = [.. Encoding.ASCII.GetBytes(commandLine), 0];
        fwCfg.SetItem(FwCfg.KeyCommandLineAddress, CommandLineAddress);
        fwCfg.SetItem(FwCfg.KeyCommandLineSize, (uint)line.Length);
        fwCfg.SetItem(FwCfg.KeyCommandLineData, line);
        if (initrd is { Length: > 0 })
        {
            fwCfg.SetItem(FwCfg.KeyInitrdAddress, (uint)layout.InitrdAddress);
            fwCfg.SetItem(FwCfg.KeyInitrdSize, (uint)initrd.Length);
            fwCfg.SetItem(FwCfg.KeyInitrdData, initrd);
        }

        byte[] protectedMode = kernel.ProtectedModeKernel.ToArray();
        fwCfg.SetItem(FwCfg.KeyKernelAddress, KernelAddress);
        fwCfg.SetItem(FwCfg.KeyKernelSize, (uint)protectedMode.Length);
        fwCfg.SetItem(FwCfg.KeyKernelData, protectedMode);
        fwCfg.SetItem(FwCfg.KeySetupAddress, SetupAddress);
        fwCfg.SetItem(FwCfg.KeySetupSize, (uint)setup.Length);
        fwCfg.SetItem(FwCfg.KeySetupData, setup);
        fwCfg.AddFile(OptionRomFile, optionRom);
        fwCfg.AddFile("bootorder", [.. Encoding.ASCII.GetBytes(BootOrder), 0]);
    }

    /// <summary>The video mode a <c>vga=</c> option asks for (QEMU: normal 0xFFFF, ext 0xFFFE, ask 0xFFFD, else a
    /// number in C's notation), or null without one.</summary>
    /// <exception cref="GuestImageException">The value is none of these.</exception>
    public static ushort? VideoMode(string commandLine)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        int at = commandLine.IndexOf("vga=", StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        string value = commandLine[(at + 4)..];
        if (value.StartsWith("normal", StringComparison.Ordinal))
        {
            return 0xFFFF;
        }

        if (value.StartsWith("ext", StringComparison.Ordinal))
        {
            return 0xFFFE;
        }

        if (value.StartsWith("ask", StringComparison.Ordinal))
        {
            return 0xFFFD;
        }

        int end = value.IndexOf(' ', StringComparison.Ordinal);
        string number = end < 0 ? value : value[..end];
        bool ok = number.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? uint.TryParse(number.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint mode)
            : number.Length > 1 && number[0] == '0' ? TryOctal(number, out mode) : uint.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out mode);
        if (!ok)
        {
            throw new GuestImageException($"The kernel command line has an invalid 'vga=' value '{number}' (QEMU refuses it too): use normal, ext, ask or a number.");
        }

        return (ushort)mode;
    }

    private static bool TryOctal(string text, out uint value)
    {
        value = 0;
        foreach (char c in text)
        {
            if (c is < '0' or > '7' || value > (uint.MaxValue >> 3))
            {
                return false;
            }

            value = (value << 3) | (uint)(c - '0');
        }

        return true;
    }
}
