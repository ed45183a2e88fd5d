// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Tests.Shared;
using HyperDbgRemote.VmxDriver.Devices;
using HyperDbgRemote.VmxDriver.Guests;
using HyperDbgRemote.VmxDriver.Guests.Linux;

namespace HyperDbgRemote.VmxDriver.Tests.Linux;

/// <summary>
/// Debian's kernel booted as QEMU's <c>-bios bios.bin -kernel -initrd -append</c> does: SeaBIOS finds the kernel in
/// fw_cfg, runs QEMU's linuxboot_dma.bin and boots from it; its debug console is compared with QEMU 7.2's for the same
/// firmware, kernel and command line (QEMU without the VGA card and NIC we do not have).
/// </summary>
[Category("Firmware")]
public sealed class SeaBiosLinuxBootTests
{
    private const string BiosPath = "/usr/share/seabios/bios.bin";
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(2);

    [Test]
    public async Task Boot_KernelThroughFwCfg_SeaBiosLogMatchesQemusToBootingFromRom()
    {
        // Arrange
        (string kernel, string initrd) = FilesOrIgnore();
        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = LinuxGuest.DefaultRamBytes });
        StandardDevices devices = StandardDevices.Attach(vm, new StandardDevicesOptions { SerialPorts = 1 });
        vm.AddCores(BiosGuest.FromFile(BiosPath, BiosKernel.FromFiles(kernel, initrd, LinuxGuest.DefaultCommandLine)).Load(vm));

        // Act: ours until SeaBIOS says it boots from the option ROM, then QEMU to the same line.
        vm.Start();
        Eventually.Until(() => devices.DebugConsole.Output.Text().Contains(SeaBiosLog.BootingFromRom + "\n", StringComparison.Ordinal) || vm.HasStopped, "SeaBIOS boots from the ROM", s_timeout);
        vm.Stop();
        string ours = devices.DebugConsole.Output.Text();
        (string qemu, _) = await QemuOracle.BootBiosLinuxAsync(BiosPath, kernel, initrd, LinuxGuest.DefaultCommandLine, SeaBiosLog.BootingFromRom, s_timeout);

        // Assert
        TestContext.Out.WriteLine(ours);
        IReadOnlyList<string> mine = SeaBiosLog.Compared(ours);
        Assert.That(mine, Does.Contain("1: /rom@genroms/linuxboot_dma.bin").And.Contain("Running option rom at c000:0003").And.Contain("Searching bootorder for: /rom@genroms/linuxboot_dma.bin"));
        Assert.That(mine[^1], Is.EqualTo(SeaBiosLog.BootingFromRom));
        Assert.That(mine, Is.EqualTo(SeaBiosLog.Compared(qemu)));
    }

    private static (string Kernel, string Initrd) FilesOrIgnore()
    {
        if (!File.Exists(BiosPath))
        {
            Assert.Ignore($"skipped: {BiosPath} not found (apt-get install seabios)");
        }

        if (!File.Exists(FwCfgLinuxBoot.DefaultOptionRomPath))
        {
            Assert.Ignore($"skipped: {FwCfgLinuxBoot.DefaultOptionRomPath} not found (apt-get install qemu-system-data)");
        }

        string kernel = LinuxFiles.KernelOrIgnore();
        string initrd = LinuxFiles.InitramfsOrIgnore();
        if (QemuOracle.Find() is null)
        {
            Assert.Ignore("skipped: qemu-system-x86_64 not found (./build.sh deps installs qemu-system-x86)");
        }

        return (kernel, initrd);
    }
}
