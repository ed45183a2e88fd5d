// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Host.Tests;

/// <summary>What a user sees from <c>bin/hyperdbg --local --guest linux:...</c> given files that cannot boot: one line
/// naming the file and the problem, exit status 2, nothing started. (A kernel that panics:
/// <see cref="LinuxProcessesTests"/>.)</summary>
[Category("EndToEnd")]
public sealed class LinuxBadInputTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("hdr-linux-bad-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void Local_NotABzImage_SaysSo()
    {
        string path = Write("hello.txt", "hello\n"u8.ToArray());

        (int exit, string output, string error) = HyperDbgProcess.Run("--local", "--guest", "linux:" + path, "-c", "r");

        Assert.That(exit, Is.EqualTo(2), output + error);
        Assert.That(error, Does.Contain($"The Linux kernel '{path}' is not a bzImage: it has no Linux boot-protocol header"));
    }

    [Test]
    public void Local_BootProtocolTooOld_SaysWhichAndWhatIsNeeded()
    {
        // Arrange: a setup header of protocol 2.00 (boot.rst: boot_flag 0xAA55 at 0x1FE, "HdrS" at 0x202, version at 0x206)
        byte[] image = new byte[64 * 1024];
        image[0x1F1] = 4;
        image[0x1FE] = 0x55;
        image[0x1FF] = 0xAA;
        "HdrS"u8.CopyTo(image.AsSpan(0x202));
        image[0x207] = 0x02;
        string path = Write("old.img", image);

        // Act
        (int exit, string output, string error) = HyperDbgProcess.Run("--local", "--guest", "linux:" + path, "-c", "r");

        // Assert
        Assert.That(exit, Is.EqualTo(2), output + error);
        Assert.That(error, Does.Contain("uses boot protocol 2.00, which is too old: the 64-bit entry needs protocol 2.12 or later"));
    }

    [Test]
    public void Local_InitrdLargerThanRam_SaysBoth()
    {
        // Arrange: Debian's kernel and a 20 MiB (sparse) initrd for a 16 MiB guest
        LinuxProcessesTests.SkipWithoutLinuxFiles();
        string kernel = Path.Combine(Path.GetDirectoryName(SystemMapPath())!, "vmlinuz");
        string initrd = Path.Combine(_dir, "big.img");
        using (FileStream f = File.Create(initrd))
        {
            f.SetLength(20 * 1024 * 1024);
        }

        // Act
        (int exit, string output, string error) = HyperDbgProcess.Run("--local", "--memory", "16", "--guest", $"linux:{kernel},initrd={initrd}", "-c", "r");

        // Assert
        Assert.That(exit, Is.EqualTo(2), output + error);
        Assert.That(error, Does.Contain("The initrd is 20,971,520 bytes, larger than the RAM it can be loaded into (16 MiB of RAM"));
    }

    private static string SystemMapPath() =>
        Path.Combine(HyperDbgRemote.Tests.Shared.ConformanceRoot.SolutionDirectory()!, ".cache", "linux", "System.map");

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
