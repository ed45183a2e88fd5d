// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Guests;
using HyperDbgRemote.VmxDriver.Guests.Linux;

namespace HyperDbgRemote.VmxDriver.Tests.Linux;

public sealed class LinuxGuestSpecTests
{
    private static IEnumerable<TestCaseData> Good()
    {
        yield return new TestCaseData("linux", new LinuxGuestSpec.Parts(null, null, null, null, null)).SetName("ShortForm");
        yield return new TestCaseData("linux:/b/vmlinuz", new LinuxGuestSpec.Parts("/b/vmlinuz", null, null, null, null)).SetName("KernelOnly");
        yield return new TestCaseData("linux:/b/vmlinuz,initrd=/b/i.gz,map=/b/System.map", new LinuxGuestSpec.Parts("/b/vmlinuz", "/b/i.gz", "/b/System.map", null, null)).SetName("AllFiles");
        yield return new TestCaseData("linux:/a,b/vmlinuz,initrd=/c,d/i", new LinuxGuestSpec.Parts("/a,b/vmlinuz", "/c,d/i", null, null, null)).SetName("CommasInPaths");
        yield return new TestCaseData(
            "linux:/k,cmdline=console=ttyS0 earlyprintk=serial,ttyS0,115200 init=/x,map=/y",
            new LinuxGuestSpec.Parts("/k", null, null, "console=ttyS0 earlyprintk=serial,ttyS0,115200 init=/x,map=/y", null)).SetName("CmdlineTakesTheRest");
        yield return new TestCaseData("linux:/k,append=a,cmdline=b", new LinuxGuestSpec.Parts("/k", null, null, null, "a,cmdline=b")).SetName("AppendTakesTheRest");
        yield return new TestCaseData("linux,append=hyperdbg.run=1", new LinuxGuestSpec.Parts(null, null, null, null, "hyperdbg.run=1")).SetName("ShortFormAppend");
        yield return new TestCaseData("linux,initrd=/mine.gz", new LinuxGuestSpec.Parts(null, "/mine.gz", null, null, null)).SetName("ShortFormOwnInitrd");
        yield return new TestCaseData("linux,apic=on,append=x", new LinuxGuestSpec.Parts(null, null, null, null, "x") { Apic = true }).SetName("ApicOn");
        yield return new TestCaseData("linux,apic=off", new LinuxGuestSpec.Parts(null, null, null, null, null)).SetName("ApicOff");
    }

    [TestCaseSource(nameof(Good))]
    public void Split_GoodSpec_GivesItsParts(string spec, LinuxGuestSpec.Parts expected) =>
        Assert.That(LinuxGuestSpec.Split(spec), Is.EqualTo(expected));

    [TestCase("linux:", "is empty")]
    [TestCase("linux:,initrd=/i", "is empty")]
    [TestCase("linux:/k,ramdisk=/i", "unknown option 'ramdisk'")]
    [TestCase("linux:/k,initrd=/a,initrd=/b", "'initrd' is given twice")]
    [TestCase("linux:/k,initrd=", "'initrd=' needs a path")]
    [TestCase("linuxx", "Unknown guest")]
    [TestCase("linux,apic=yes", "apic= takes 'on' or 'off', not 'yes'")]
    public void Split_BadSpec_SaysWhatIsWrong(string spec, string expected) =>
        Assert.That(() => LinuxGuestSpec.Split(spec), Throws.TypeOf<GuestImageException>().With.Message.Contains(expected));

    [Test]
    public void Parse_ShortFormWithoutFetchedFiles_SaysRunBuildShDeps()
    {
        // Arrange: point the lookup at an empty folder.
        string empty = Directory.CreateTempSubdirectory("hdr-nolinux").FullName;
        string? before = Environment.GetEnvironmentVariable(LinuxGuestFiles.DirectoryVariable);
        Environment.SetEnvironmentVariable(LinuxGuestFiles.DirectoryVariable, empty);
        try
        {
            // Act / Assert
            Assert.That(() => GuestSpec.Parse("linux"), Throws.TypeOf<GuestImageException>().With.Message.Contains("vmlinuz").And.Message.Contains("does not exist"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(LinuxGuestFiles.DirectoryVariable, before);
            Directory.Delete(empty);
        }
    }

    [Test]
    public void Parse_ShortFormAppend_AddsToTheDefaultCommandLine()
    {
        // Arrange
        LinuxFiles.KernelOrIgnore();

        // Act
        var guest = (LinuxGuest)GuestSpec.Parse("linux,append=hyperdbg.run=1");

        // Assert
        Assert.That(guest.CommandLine, Is.EqualTo(LinuxGuest.DefaultCommandLine + " hyperdbg.run=1"));
        Assert.That(guest.Description, Does.Contain("initramfs.cpio.gz"));
    }
}
