// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Guests;
using HyperDbgRemote.VmxDriver.Guests.Linux;

namespace HyperDbgRemote.VmxDriver.Tests.Linux;

public sealed class BzImageTests
{
    private static IEnumerable<TestCaseData> BadImages()
    {
        yield return new TestCaseData(new byte[100], "is not a bzImage").SetName("TooShort");
        yield return new TestCaseData(new byte[64 * 1024], "is not a bzImage").SetName("ZeroFilled");
        yield return new TestCaseData("\u007fELF"u8.ToArray().Concat(new byte[4096]).ToArray(), "is not a bzImage").SetName("ElfFile");
        yield return new TestCaseData(new FakeBzImage { Version = 0x020B }.Build(), "protocol 2.11, which is too old").SetName("Protocol211");
        yield return new TestCaseData(new FakeBzImage { Version = 0x0200 }.Build(), "protocol 2.00, which is too old").SetName("Protocol200");
        yield return new TestCaseData(new FakeBzImage { LoadFlags = 0 }.Build(), "is a zImage").SetName("ZImage");
        yield return new TestCaseData(new FakeBzImage { Relocatable = 0 }.Build(), "is not relocatable").SetName("NotRelocatable");
        yield return new TestCaseData(new FakeBzImage { XLoadFlags = 0x7E }.Build(), "has no 64-bit entry point").SetName("No64BitEntry");
        yield return new TestCaseData(new FakeBzImage { SysSizeOverride = 0x10_0000 }.Build(), "is truncated").SetName("Truncated");
        yield return new TestCaseData(new FakeBzImage { Alignment = 0x30_0000 }.Build(), "kernel_alignment 0x300000").SetName("AlignmentNotPowerOfTwo");
        yield return new TestCaseData(new FakeBzImage { InitSize = 0 }.Build(), "init_size 0x0").SetName("NoInitSize");
    }

    [TestCaseSource(nameof(BadImages))]
    public void Parse_BadImage_SaysWhatIsWrong(byte[] image, string expected)
    {
        // Act
        bool ok = BzImage.TryParse(image, "k.img", out BzImage? kernel, out string? error);

        // Assert
        Assert.That(ok, Is.False);
        Assert.That(kernel, Is.Null);
        Assert.That(error, Does.Contain("'k.img'").And.Contain(expected));
        Assert.That(() => BzImage.Parse(image, "k.img"), Throws.TypeOf<GuestImageException>().With.Message.EqualTo(error));
    }

    [Test]
    public void Parse_GoodImage_ReadsTheSetupHeader()
    {
        // Arrange
        byte[] image = new FakeBzImage { SetupSectors = 0 }.Build();

        // Act
        BzImage k = BzImage.Parse(image, "k");

        // Assert: setup_sects 0 means 4 (boot.rst note 1), so the kernel starts at 5 * 512.
        Assert.That(k.SetupSectors, Is.EqualTo(4));
        Assert.That(k.SetupSize, Is.EqualTo(5 * 512));
        Assert.That(k.ProtectedModeKernel.Length, Is.EqualTo(image.Length - (5 * 512)));
        Assert.That((k.Version, k.PreferredAddress, k.InitSize, k.KernelAlignment), Is.EqualTo(((ushort)0x020F, 0x100_0000UL, 0x3F9_8000u, 0x20_0000u)));
        Assert.That(k.SetupHeaderEnd, Is.EqualTo(0x202 + 0x6A), "0x202 + the jump's offset byte");
        Assert.That(k.SetupHeaderBytes.Length, Is.EqualTo(0x26C - 0x1F1));
    }

    [Test]
    public void FromFile_DebiansKernel_IsABzImageWithA64BitEntry()
    {
        // Arrange
        string path = LinuxFiles.KernelOrIgnore();

        // Act
        BzImage k = BzImage.FromFile(path);

        // Assert: the facts of Debian 12's 6.1 kernel (protocol 2.15, relocatable, 2 MiB aligned, runs at 16 MiB).
        Assert.That(k.Version, Is.GreaterThanOrEqualTo(0x020C));
        Assert.That(k.Relocatable, Is.True);
        Assert.That(k.XLoadFlags & SetupHeader.XlfKernel64, Is.Not.Zero);
        Assert.That(k.PreferredAddress, Is.EqualTo(0x100_0000UL));
        Assert.That(k.KernelVersion, Does.StartWith("6."));
    }
}
