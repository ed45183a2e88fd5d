// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Tests.Shared;
using HyperDbgRemote.VmxDriver.Devices;
using HyperDbgRemote.VmxDriver.Guests.Linux;

namespace HyperDbgRemote.VmxDriver.Tests.Linux;

/// <summary>
/// Debian's own kernel and initramfs (fetched by ./build.sh deps) booted on our machine, compared with QEMU 7.2 TCG
/// booting the same files with the same command line: the console logs agree line for line, once normalised, but for
/// the differences <see cref="BootLogNormalizer.KnownDifferences"/> lists with their reasons.
/// </summary>
[Category("Firmware")]
public sealed class LinuxBootTests
{
    private const string RunInit = "Run /init as init process";
    private const string InitMarker = "HYPERDBG-INIT-OK";

    [Test]
    [Explicit("Passed once, failed once (2026-12-03): a kernel oops at 0.23 s, before user mode, RIP inside a 5-byte NOP of _raw_spin_lock_irqsave; not yet understood")]
    public void Boot_DefaultCommandLine_RunsInitInUserMode_WhichPrintsItsMarker()
    {
        // Arrange: /init of the initramfs prints the marker from ring 3 (SYSCALL into the kernel, interrupts from user
        // mode through the TSS: RingTransitionTests, FastSystemCallTests).
        LinuxGuest guest = LinuxGuest.FromFiles(LinuxFiles.KernelOrIgnore(), LinuxFiles.InitramfsOrIgnore());
        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = guest.DefaultMemoryBytes ?? (256UL << 20) });
        StandardDevices devices = StandardDevices.Attach(vm, new StandardDevicesOptions { SerialPorts = 1 });
        vm.AddCores(guest.Load(vm));

        // Act
        vm.Start();
        try
        {
            Eventually.Until(() => devices.Com1.Transmitted.Text().Contains(InitMarker, StringComparison.Ordinal) || vm.HasStopped, "/init prints " + InitMarker, TimeSpan.FromMinutes(2));
        }
        catch (TimeoutException ex)
        {
            string[] console = devices.Com1.Transmitted.Text().Split('\n');
            Assert.Fail($"{ex.Message}; the console ended with:\n{string.Join('\n', console.TakeLast(15))}");
        }

        // Assert
        Assert.That(vm.StopInfo, Is.Null, "the VM did not stop (no triple fault in user mode)");
        Assert.That(devices.Com1.Transmitted.Text(), Does.Contain(RunInit).And.Contain(InitMarker));
        vm.Stop();
    }

    [Test]
    public async Task Boot_DefaultCommandLine_ReachesRunInit_AndItsLogMatchesQemus()
    {
        // Arrange
        string kernel = LinuxFiles.KernelOrIgnore();
        string initrd = LinuxFiles.InitramfsOrIgnore();
        if (QemuOracle.Find() is null)
        {
            Assert.Ignore("skipped: qemu-system-x86_64 not found (./build.sh deps installs qemu-system-x86)");
        }

        LinuxGuest guest = LinuxGuest.FromFiles(kernel, initrd);
        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = guest.DefaultMemoryBytes ?? (256UL << 20) });
        StandardDevices devices = StandardDevices.Attach(vm, new StandardDevicesOptions { SerialPorts = 1 }); // QEMU: one COM port per -serial
        vm.AddCores(guest.Load(vm));

        // Act: ours until the kernel starts /init (the comparison stops there), then QEMU.
        vm.Start();
        try
        {
            Eventually.Until(() => devices.Com1.Transmitted.Text().Contains(RunInit, StringComparison.Ordinal) || vm.HasStopped, "the kernel reaches " + RunInit, TimeSpan.FromMinutes(2));
        }
        catch (TimeoutException ex)
        {
            // Say where the kernel was: the end of its console and the core's state.
            string[] console = devices.Com1.Transmitted.Text().Split('\n');
            Assert.Fail($"{ex.Message}; {vm.Cores[0].ExternalInterruptsTaken} interrupts taken; the console ended with:\n{string.Join('\n', console.TakeLast(15))}");
        }

        vm.Stop();
        string ours = devices.Com1.Transmitted.Text();
        QemuBootResult qemu = await QemuOracle.BootLinuxAsync(kernel, initrd, LinuxGuest.DefaultCommandLine, RunInit, TimeSpan.FromMinutes(2));

        // Assert: the same lines; probing order may differ (asynchronous driver probing), so compared as multisets.
        Assert.That(ours, Does.Contain(RunInit), vm.StopInfo?.Report);
        Assert.That(vm.Cores[0].ExternalInterruptsTaken, Is.GreaterThan(100), "timer, serial and keyboard interrupts were taken");
        Assert.That(qemu.Console, Does.Contain(RunInit), qemu.Errors);
        IReadOnlyList<string> mine = BootLogNormalizer.WithoutKnownDifferences(UpTo(BootLogNormalizer.Normalize(ours)));
        IReadOnlyList<string> theirs = BootLogNormalizer.WithoutKnownDifferences(UpTo(BootLogNormalizer.Normalize(qemu.Console)));
        Assert.That(mine, Has.Count.GreaterThan(150));
        Assert.That(mine, Is.EquivalentTo(theirs));
    }

    private static IEnumerable<string> UpTo(IReadOnlyList<string> lines)
    {
        foreach (string line in lines)
        {
            yield return line;
            if (line.Contains(RunInit, StringComparison.Ordinal))
            {
                yield break;
            }
        }
    }
}
