// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using System.Text;
using HyperDbgRemote.VmxDriver.Devices;
using HyperDbgRemote.VmxDriver.Guests;
using HyperDbgRemote.VmxDriver.Guests.Linux;

namespace HyperDbgRemote.VmxDriver.Tests.Linux;

/// <summary>
/// A kernel offered through fw_cfg as QEMU 7.2's x86_load_linux offers it (hw/i386/x86.c), read back through the
/// fw_cfg ports as the firmware and linuxboot_dma.bin read it. The expected values are QEMU's, worked out by hand for
/// 256 MiB of RAM (initrd_max = 256 MiB - 128 KiB (acpi_data_size) - 1).
/// </summary>
public sealed class FwCfgLinuxBootTests
{
    private const ulong Ram = 256UL << 20;
    private static readonly byte[] s_rom = OptionRom();

    [Test]
    public void Load_KernelInitrdAndCommandLine_FwCfgHoldsQemusItemsWithThePatchedSetupHeader()
    {
        // Arrange
        var fake = new FakeBzImage { KernelBytes = 12288 };
        BzImage kernel = fake.Parse();
        byte[] initrd = [.. Enumerable.Range(0, 5000).Select(i => (byte)(i * 3))];
        const string CommandLine = "console=ttyS0 vga=0x317 nokaslr";
        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = Ram });
        StandardDevices devices = StandardDevices.Attach(vm);

        // Act
        new BiosGuest(Bios(), "bios.bin", new BiosKernel(kernel, initrd, CommandLine, s_rom)).Load(vm);

        // Assert
        FwCfg fw = devices.FwCfg;
        const uint InitrdAddress = (0x0FFD_FFFF - 5000) & ~0xFFFu; // (initrd_max - size) & ~4095
        Assert.That(Item32(fw, FwCfg.KeyKernelAddress), Is.EqualTo(0x10_0000u));
        Assert.That(Item32(fw, FwCfg.KeyKernelSize), Is.EqualTo(12288u));
        Assert.That(Item(fw, FwCfg.KeyKernelData, 12288), Is.EqualTo(fake.Build()[2560..]));
        Assert.That(Item32(fw, FwCfg.KeyInitrdAddress), Is.EqualTo(InitrdAddress).And.EqualTo(0x0FFD_E000u));
        Assert.That(Item32(fw, FwCfg.KeyInitrdSize), Is.EqualTo(5000u));
        Assert.That(Item(fw, FwCfg.KeyInitrdData, 5000), Is.EqualTo(initrd));
        Assert.That(Item32(fw, FwCfg.KeyCommandLineAddress), Is.EqualTo(0x2_0000u));
        Assert.That(Item32(fw, FwCfg.KeyCommandLineSize), Is.EqualTo((uint)CommandLine.Length + 1));
        Assert.That(Item(fw, FwCfg.KeyCommandLineData, CommandLine.Length + 2), Is.EqualTo([.. Encoding.ASCII.GetBytes(CommandLine), 0, 0]), "NUL-terminated; nothing after it");
        Assert.That(Item32(fw, FwCfg.KeySetupAddress), Is.EqualTo(0x1_0000u));
        Assert.That(Item32(fw, FwCfg.KeySetupSize), Is.EqualTo(2560u), "(setup_sects + 1) * 512");
        byte[] setup = Item(fw, FwCfg.KeySetupData, 2560);
        byte[] expected = fake.Build()[..2560];
        expected[0x210] = 0xB0; // type_of_loader: QEMU
        expected[0x211] |= 0x80; // loadflags: CAN_USE_HEAP
        BinaryPrimitives.WriteUInt16LittleEndian(expected.AsSpan(0x224), 0xFE00); // heap_end_ptr = 0x20000 - 0x10000 - 0x200
        BinaryPrimitives.WriteUInt32LittleEndian(expected.AsSpan(0x228), 0x2_0000); // cmd_line_ptr
        BinaryPrimitives.WriteUInt32LittleEndian(expected.AsSpan(0x218), InitrdAddress); // ramdisk_image
        BinaryPrimitives.WriteUInt32LittleEndian(expected.AsSpan(0x21C), 5000); // ramdisk_size
        BinaryPrimitives.WriteUInt16LittleEndian(expected.AsSpan(0x1FA), 0x317); // vid_mode from vga=
        Assert.That(setup, Is.EqualTo(expected));
        Assert.That(File(fw, "genroms/linuxboot_dma.bin"), Is.EqualTo(s_rom));
        Assert.That(File(fw, "bootorder"), Is.EqualTo("/rom@genroms/linuxboot_dma.bin\0"u8.ToArray()), "QEMU's get_boot_devices_list: one path, NUL-terminated");
    }

    [Test]
    public void Load_NoInitrd_NoInitrdItemsAndTheHeaderKeepsItsRamdiskFields()
    {
        // Arrange
        var fake = new FakeBzImage();
        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = Ram });
        StandardDevices devices = StandardDevices.Attach(vm);

        // Act
        new BiosGuest(Bios(), "bios.bin", new BiosKernel(fake.Parse(), null, "console=ttyS0", s_rom)).Load(vm);

        // Assert
        FwCfg fw = devices.FwCfg;
        Assert.That(Item(fw, FwCfg.KeyInitrdSize, 4), Is.EqualTo(new byte[4]), "no item: reads give zeros");
        byte[] setup = Item(fw, FwCfg.KeySetupData, 2560);
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(setup.AsSpan(0x218)), Is.Zero);
        Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(setup.AsSpan(0x1FA)), Is.EqualTo(0xFFFF), "vid_mode as the file has it without vga=");
    }

    [TestCase("vga=normal", 0xFFFF)]
    [TestCase("quiet vga=ext", 0xFFFE)]
    [TestCase("vga=ask", 0xFFFD)]
    [TestCase("vga=791 quiet", 791)]
    [TestCase("vga=0x31B", 0x31B)]
    [TestCase("vga=017", 15)]
    public void VideoMode_AsQemuReadsVga(string commandLine, int mode) =>
        Assert.That(FwCfgLinuxBoot.VideoMode(commandLine), Is.EqualTo((ushort)mode));

    [TestCase("vga=")]
    [TestCase("vga=12x")]
    [TestCase("vga=09")]
    public void Load_InvalidVga_IsRefusedAndFwCfgIsUnchanged(string commandLine)
    {
        // Arrange
        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = Ram });
        StandardDevices devices = StandardDevices.Attach(vm);
        var guest = new BiosGuest(Bios(), "bios.bin", new BiosKernel(new FakeBzImage().Parse(), null, commandLine, s_rom));

        // Act / Assert
        Assert.That(() => guest.Load(vm), Throws.TypeOf<GuestImageException>().With.Message.Contains("invalid 'vga=' value"));
        Assert.That(devices.FwCfg.HasFile(FwCfgLinuxBoot.OptionRomFile), Is.False);
        Assert.That(Item(devices.FwCfg, FwCfg.KeyCommandLineSize, 4), Is.EqualTo(new byte[4]));
    }

    [Test]
    public void Load_CommandLineLongerThanTheKernelTakes_IsRefusedAndFwCfgIsUnchanged()
    {
        // Arrange
        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = Ram });
        StandardDevices devices = StandardDevices.Attach(vm);
        var guest = new BiosGuest(Bios(), "bios.bin", new BiosKernel(new FakeBzImage { CommandLineSize = 8 }.Parse(), null, "console=ttyS0", s_rom));

        // Act / Assert
        Assert.That(() => guest.Load(vm), Throws.TypeOf<GuestImageException>().With.Message.Contains("cmdline_size"));
        Assert.That(devices.FwCfg.HasFile(FwCfgLinuxBoot.OptionRomFile), Is.False);
    }

    [Test]
    public void Load_WithoutStandardDevices_SaysFwCfgIsNeeded()
    {
        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = Ram });
        var guest = new BiosGuest(Bios(), "bios.bin", new BiosKernel(new FakeBzImage().Parse(), null, "console=ttyS0", s_rom));

        Assert.That(() => guest.Load(vm), Throws.TypeOf<GuestImageException>().With.Message.Contains("fw_cfg"));
    }

    [Test]
    public void ReadOptionRom_Missing_NamesDebiansPackage()
    {
        string path = Path.Combine(Path.GetTempPath(), $"no-such-rom-{Guid.NewGuid():N}.bin");

        Assert.That(() => FwCfgLinuxBoot.ReadOptionRom(path),
            Throws.TypeOf<GuestImageException>().With.Message.Contains(path).And.Message.Contains("qemu-system-data"));
    }

    [Test]
    public void ReadOptionRom_NotAnOptionRom_IsRefused()
    {
        string path = Path.Combine(Path.GetTempPath(), $"not-a-rom-{Guid.NewGuid():N}.bin");
        System.IO.File.WriteAllBytes(path, new byte[1024]);
        try
        {
            Assert.That(() => FwCfgLinuxBoot.ReadOptionRom(path), Throws.TypeOf<GuestImageException>().With.Message.Contains("not a PC option ROM"));
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }

    [Test]
    public void Parse_BiosWithAKernelThatIsNotABzImage_SaysSo()
    {
        string path = Path.Combine(Path.GetTempPath(), $"not-a-kernel-{Guid.NewGuid():N}");
        System.IO.File.WriteAllBytes(path, new byte[8192]);
        try
        {
            Assert.That(() => GuestSpec.Parse($"bios:/usr/share/seabios/bios.bin,kernel={path}"),
                Throws.TypeOf<GuestImageException>().With.Message.Contains("is not a bzImage"));
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }

    [TestCase("bios:/x/bios.bin,initrd=/x/initrd", "initrd= needs kernel=")]
    [TestCase("bios:/x/bios.bin,append=quiet", "append= needs kernel=")]
    [TestCase("bios:/x/bios.bin,kernel=/k,rom=/r", "unknown option 'rom'")]
    [TestCase("bios:/x/bios.bin,kernel=", "'kernel=' needs a path")]
    public void Parse_BadBiosOptions_AreRefused(string spec, string message) =>
        Assert.That(() => GuestSpec.Parse(spec), Throws.TypeOf<GuestImageException>().With.Message.Contains(message));

    /// <summary>A minimal BIOS image: 64 KiB with a jump at the reset vector.</summary>
    private static byte[] Bios()
    {
        var image = new byte[64 * 1024];
        image[^16] = 0xEB;
        image[^15] = 0xFE;
        return image;
    }

    private static byte[] OptionRom()
    {
        var rom = new byte[1536];
        rom[0] = 0x55;
        rom[1] = 0xAA;
        rom[2] = 3;
        rom[3] = 0xCB;
        return rom;
    }

    private static byte[] Item(FwCfg fw, ushort key, int length)
    {
        fw.WriteWord(StandardPorts.FwCfgSelector, key);
        return [.. Enumerable.Range(0, length).Select(_ => fw.ReadByte(StandardPorts.FwCfgData))];
    }

    private static uint Item32(FwCfg fw, ushort key) => BinaryPrimitives.ReadUInt32LittleEndian(Item(fw, key, 4));

    /// <summary>A file's bytes, found in the directory as the firmware finds it.</summary>
    private static byte[] File(FwCfg fw, string name)
    {
        byte[] count = Item(fw, FwCfg.KeyFileDirectory, 4);
        int n = (int)BinaryPrimitives.ReadUInt32BigEndian(count);
        byte[] dir = Item(fw, FwCfg.KeyFileDirectory, 4 + (64 * n));
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<byte> e = dir.AsSpan(4 + (64 * i), 64);
            string fileName = Encoding.ASCII.GetString(e[8..]).TrimEnd('\0');
            if (fileName == name)
            {
                return Item(fw, BinaryPrimitives.ReadUInt16BigEndian(e[4..]), (int)BinaryPrimitives.ReadUInt32BigEndian(e));
            }
        }

        Assert.Fail($"fw_cfg has no file '{name}'");
        return [];
    }
}
