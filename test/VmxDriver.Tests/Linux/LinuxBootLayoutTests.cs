// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using HyperDbgRemote.VmxDriver.Guests;
using HyperDbgRemote.VmxDriver.Guests.Linux;

namespace HyperDbgRemote.VmxDriver.Tests.Linux;

public sealed class LinuxBootLayoutTests
{
    private const ulong MiB = 1024 * 1024;

    [TestCase(256UL, 1_028_888L, 0xFEE4000UL, Description = "the initramfs under QEMU -m 256: its log says RAMDISK: [mem 0x0fee4000-0x0ffdffff]")]
    [TestCase(256UL, 4096L, 0xFFDE000UL)]
    [TestCase(128UL, 10_000_000L, 0x7656000UL)]
    public void Compute_Initrd_PlacedAsQemuDoes(ulong ramMiB, long initrdBytes, ulong expected)
    {
        // x86_load_linux: initrd_max = below_4g - acpi_data_size(128 KiB) - 1; addr = (initrd_max - size) & ~4095.
        LinuxBootLayout layout = LinuxBootLayout.Compute(new FakeBzImage().Parse(), ramMiB * MiB, initrdBytes, 100);
        Assert.That(layout.InitrdAddress, Is.EqualTo(expected));
        Assert.That(layout.InitrdAddress, Is.EqualTo(((ramMiB * MiB) - 0x2_0000 - 1 - (ulong)initrdBytes) & ~0xFFFUL));
        Assert.That(layout.InitrdSize, Is.EqualTo((ulong)initrdBytes));
    }

    [Test]
    public void Compute_RelocatableKernel_RunsAtPrefAddressAndNeedsInitSize()
    {
        LinuxBootLayout layout = LinuxBootLayout.Compute(new FakeBzImage().Parse(), 256 * MiB, 0, 10);
        Assert.That(layout.RuntimeStart, Is.EqualTo(0x100_0000UL), "align_up(1 MiB, 2 MiB) = 2 MiB, but never below pref_address");
        Assert.That(layout.KernelEnd, Is.EqualTo(0x100_0000UL + 0x3F9_8000));
        Assert.That((layout.InitrdAddress, layout.InitrdSize), Is.EqualTo((0UL, 0UL)));
        Assert.That(LinuxBootLayout.Entry64, Is.EqualTo(0x10_0200UL));
    }

    [Test]
    public void Compute_InitrdLargerThanRam_SaysSo() =>
        Assert.That(
            () => LinuxBootLayout.Compute(new FakeBzImage().Parse(), 256 * MiB, (long)(300 * MiB), 10),
            Throws.TypeOf<GuestImageException>().With.Message.Contains("larger than the RAM").And.Message.Contains("256 MiB"));

    [Test]
    public void Compute_RamTooSmallForKernel_NamesTheRamNeeded() =>
        Assert.That(
            () => LinuxBootLayout.Compute(new FakeBzImage().Parse(), 64 * MiB, 1_000_000, 10),
            Throws.TypeOf<GuestImageException>().With.Message.Contains("needs RAM up to 0x4F98000").And.Message.Contains("at least 81 MiB"));

    [Test]
    public void Compute_CommandLineLongerThanCmdlineSize_SaysSo() =>
        Assert.That(
            () => LinuxBootLayout.Compute(new FakeBzImage { CommandLineSize = 255 }.Parse(), 256 * MiB, 0, 256),
            Throws.TypeOf<GuestImageException>().With.Message.Contains("256 bytes").And.Message.Contains("at most 255"));

    [Test]
    public void E820_ForRam_IsWhatQemuAndSeaBiosGive()
    {
        // The lines QEMU 7.2 printed for -m 256 (Debian's 6.1 kernel, "BIOS-e820:").
        string[] qemu =
        [
            "[mem 0x0000000000000000-0x000000000009fbff] usable",
            "[mem 0x000000000009fc00-0x000000000009ffff] reserved",
            "[mem 0x00000000000f0000-0x00000000000fffff] reserved",
            "[mem 0x0000000000100000-0x000000000ffdffff] usable",
            "[mem 0x000000000ffe0000-0x000000000fffffff] reserved",
            "[mem 0x00000000fffc0000-0x00000000ffffffff] reserved",
            "[mem 0x000000fd00000000-0x000000ffffffffff] reserved",
        ];
        Assert.That(E820Map.ForRam(256 * MiB).Select(e => e.ToString()), Is.EqualTo(qemu));
    }

    [Test]
    public void BootParams_Build_WritesTheLoaderFieldsAndE820()
    {
        // Arrange
        BzImage kernel = new FakeBzImage().Parse();
        LinuxBootLayout layout = LinuxBootLayout.Compute(kernel, 256 * MiB, 4096, 10);
        IReadOnlyList<E820Entry> e820 = E820Map.ForRam(256 * MiB);

        // Act
        byte[] zp = BootParams.Build(kernel, layout, e820);

        // Assert
        Assert.That(zp, Has.Length.EqualTo(4096));
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(zp.AsSpan(0x202)), Is.EqualTo(SetupHeader.MagicValue), "setup header copied");
        Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(zp.AsSpan(0x206)), Is.EqualTo(0x020F));
        Assert.That(zp[0x210], Is.EqualTo(0xFF), "type_of_loader: undefined");
        Assert.That(zp[0x211], Is.EqualTo(0x81), "LOADED_HIGH | CAN_USE_HEAP");
        Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(zp.AsSpan(0x224)), Is.EqualTo(0xFE00), "heap_end_ptr as QEMU: 0x20000 - 0x10000 - 0x200");
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(zp.AsSpan(0x214)), Is.EqualTo(0x10_0000u), "code32_start");
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(zp.AsSpan(0x228)), Is.EqualTo(0x2_0000u), "cmd_line_ptr");
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(zp.AsSpan(0x218)), Is.EqualTo((uint)layout.InitrdAddress), "ramdisk_image");
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(zp.AsSpan(0x21C)), Is.EqualTo(4096u), "ramdisk_size");
        Assert.That(zp[0x1E8], Is.EqualTo(e820.Count), "e820_entries");
        for (int i = 0; i < e820.Count; i++)
        {
            Span<byte> entry = zp.AsSpan(0x2D0 + (20 * i), 20);
            Assert.That(
                (BinaryPrimitives.ReadUInt64LittleEndian(entry), BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]), BinaryPrimitives.ReadUInt32LittleEndian(entry[16..])),
                Is.EqualTo((e820[i].Address, e820[i].Size, e820[i].Type)),
                $"e820 entry {i}");
        }

        Assert.That(zp.AsSpan(0x1EF, 1)[0], Is.Zero, "the sentinel byte stays 0, so the kernel keeps the loader's fields");
    }
}
