// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Tests.Shared;
using HyperDbgRemote.VmxDriver.Guests.Linux;

namespace HyperDbgRemote.VmxDriver.Tests.Linux;

/// <summary>
/// QEMU 7.2 boots the same kernel, initramfs and command line the Linux guest uses, to the initramfs's marker: the
/// oracle works, and where QEMU's kernel reports what our loader decided (the e820 map, the initrd's place, the
/// command line), both agree.
/// </summary>
[Category("Firmware")]
public sealed class QemuOracleTests
{
    private const string Marker = "HYPERDBG-INIT-OK";
    private static readonly TimeSpan s_bootTimeout = TimeSpan.FromMinutes(3);

    [Test]
    public async Task BootLinux_ToTheMarker_KernelReportsWhatOurLoaderDecides()
    {
        // Arrange
        if (QemuOracle.Find() is null)
        {
            Assert.Ignore("skipped: qemu-system-x86_64 is not installed (./build.sh deps installs it)");
        }

        string kernel = LinuxFiles.KernelOrIgnore();
        string initrd = LinuxFiles.InitramfsOrIgnore();
        string commandLine = LinuxGuest.DefaultCommandLine;
        LinuxGuest ours = LinuxGuest.FromFiles(kernel, initrd, commandLine);
        using (var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = 256UL * 1024 * 1024 }))
        {
            ours.Load(vm);
        }

        // Act
        QemuBootResult qemu = await QemuOracle.BootLinuxAsync(kernel, initrd, commandLine, Marker, s_bootTimeout);
        IReadOnlyList<string> lines = BootLogNormalizer.Normalize(qemu.Console);
        TestContext.Out.WriteLine($"QEMU 7.2 TCG reached the marker in {qemu.MarkerAt?.TotalSeconds:F2} s");

        // Assert
        Assert.That(qemu.MarkerAt, Is.Not.Null, $"no marker; QEMU said: {qemu.Errors}\n{qemu.Console}");
        Assert.That(lines[0], Does.StartWith("Linux version 6.1."));
        Assert.That(lines[^1], Is.EqualTo(Marker));
        Assert.That(lines, Contains.Item("Command line: " + commandLine));
        Assert.That(lines, Contains.Item("Run /init as init process"));
        string[] e820 = [.. lines.Where(l => l.StartsWith("BIOS-e820: ", StringComparison.Ordinal)).Select(l => l["BIOS-e820: ".Length..])];
        Assert.That(e820, Is.EqualTo(E820Map.ForRam(256UL * 1024 * 1024).Select(e => e.ToString())), "QEMU's e820 map is ours");
        LinuxBootLayout layout = ours.Layout!;
        Assert.That(lines, Contains.Item($"RAMDISK: [mem 0x{layout.InitrdAddress:x8}-0x{E820Map.UsableTop(layout.RamBytes) - 1:x8}]"), "the initrd where our loader puts it");
    }
}
