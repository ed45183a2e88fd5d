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
    private const string InitOk = "HYPERDBG-INIT-OK";
    private const string ShellLine = "busybox shell on the console";
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

    [Test]
    public async Task Boot_KernelThroughSeaBiosAndLinuxbootDma_RunsInitInUserModeToTheShell_AndInitsLinesMatchQemus()
    {
        // Arrange
        (string kernel, string initrd) = FilesOrIgnore();
        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = LinuxGuest.DefaultRamBytes });
        StandardDevices devices = StandardDevices.Attach(vm, new StandardDevicesOptions { SerialPorts = 1 });
        vm.AddCores(BiosGuest.FromFile(BiosPath, BiosKernel.FromFiles(kernel, initrd, LinuxGuest.DefaultCommandLine)).Load(vm));

        // Act: SeaBIOS, the option ROM, the kernel's setup code (real to protected mode), its decompressor (long mode),
        // the kernel and /init in ring 3, to the line before the shell; then QEMU with the same firmware to that line.
        vm.Start();
        try
        {
            Eventually.Until(() => devices.Com1.Transmitted.Text().Contains(ShellLine, StringComparison.Ordinal) || vm.HasStopped, "the console reaches " + ShellLine, TimeSpan.FromMinutes(4));
        }
        catch (TimeoutException ex)
        {
            Assert.Fail($"{ex.Message}; the console ended with:\n{string.Join('\n', devices.Com1.Transmitted.Text().Split('\n').TakeLast(15))}");
        }

        vm.Stop();
        string ours = devices.Com1.Transmitted.Text();
        QemuBootResult qemu = await QemuOracle.BootLinuxAsync(kernel, initrd, LinuxGuest.DefaultCommandLine, ShellLine, s_timeout, extraArguments: ["-bios", BiosPath]);

        // Assert: the boot went through the BIOS (the setup code's EDD probe, which the 64-bit entry skips); the
        // kernel's own lines to /init are QEMU's as a multiset (drivers probe asynchronously) but for the listed
        // differences, and what /init printed in user mode is QEMU's, line by line.
        Assert.That(vm.StopInfo?.Reason, Is.Not.EqualTo(VmStopReason.Fault), vm.StopInfo?.Report);
        Assert.That(ours, Does.Contain("Probing EDD (edd=off to disable)... ok").And.Contain("Command line: " + LinuxGuest.DefaultCommandLine).And.Contain(InitOk));
        Assert.That(vm.Cores[0].Is64Bit, Is.True);
        Assert.That(devices.DebugConsole.Output.Text(), Does.Contain(SeaBiosLog.BootingFromRom));
        Assert.That(qemu.Console, Does.Contain(ShellLine), qemu.Errors);
        (IReadOnlyList<string> myKernel, IReadOnlyList<string> myInit) = BootLogNormalizer.SplitAtInit(BootLogNormalizer.Normalize(ours));
        (IReadOnlyList<string> theirKernel, IReadOnlyList<string> theirInit) = BootLogNormalizer.SplitAtInit(BootLogNormalizer.Normalize(qemu.Console));
        IReadOnlyList<string> myKernelLines = BootLogNormalizer.WithoutKnownDifferencesThroughSeaBios(myKernel);
        IReadOnlyList<string> theirKernelLines = BootLogNormalizer.WithoutKnownDifferencesThroughSeaBios(theirKernel);
        Assert.That(myKernelLines, Has.Count.GreaterThan(150));
        (IReadOnlyList<string> onlyOurs, IReadOnlyList<string> onlyQemus) = BootLogNormalizer.MultisetDifference(myKernelLines, theirKernelLines);
        if (onlyOurs.Count + onlyQemus.Count > 0)
        {
            TestContext.Out.WriteLine("ours:\n" + string.Join('\n', myKernel.Select(l => $"[{l}]")) + "\nQEMU's:\n" + string.Join('\n', theirKernel.Select(l => $"[{l}]")));
        }

        Assert.That(onlyOurs.Count + onlyQemus.Count, Is.Zero,
            $"the kernel's lines differ:\nonly ours:\n  {string.Join("\n  ", onlyOurs)}\nonly QEMU's:\n  {string.Join("\n  ", onlyQemus)}");
        IReadOnlyList<string> mine = BootLogNormalizer.WithoutKnownDifferences(myInit);
        Assert.That(mine, Has.Count.GreaterThanOrEqualTo(2));
        Assert.That(mine, Is.EqualTo(BootLogNormalizer.WithoutKnownDifferences(theirInit)));
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
