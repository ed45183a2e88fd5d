// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Tests.Shared;
using HyperDbgRemote.VmxDriver.Devices;
using HyperDbgRemote.VmxDriver.Guests;

namespace HyperDbgRemote.VmxDriver.Tests;

[Category("Firmware")]
public sealed class SeaBiosTests
{
    private const string BiosPath = "/usr/share/seabios/bios.bin";

    [Test]
    public void Boot_DebianSeaBios_PrintsQemusLeadingLinesOnDebugConsole()
    {
        // Arrange
        if (!File.Exists(BiosPath))
        {
            Assert.Ignore($"skipped: {BiosPath} not found (apt-get install seabios)");
        }

        string[] expected = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Data", "seabios-1.16.2-qemu-7.2-debugcon.txt"))
            .Where(l => !l.StartsWith('#') && !l.StartsWith('!') && l.Length > 0)
            .ToArray();
        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = 128 * 1024 * 1024 });
        StandardDevices devices = StandardDevices.Attach(vm);
        vm.AddCores(BiosGuest.FromFile(BiosPath).Load(vm));

        // Act
        vm.Start();
        string log = string.Empty;
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && !vm.HasStopped)
        {
            log = devices.DebugConsole.Output.Text();
            if (log.Contains("qemu/e820", StringComparison.Ordinal) && log.Contains("[RAM]", StringComparison.Ordinal))
            {
                break;
            }

            Thread.Sleep(20);
        }

        vm.Stop();
        log = devices.DebugConsole.Output.Text();

        // Assert
        string[] lines = log.Split('\n', StringSplitOptions.TrimEntries);
        TestContext.Out.WriteLine(log);
        Assert.That(vm.StopInfo?.Reason, Is.Not.EqualTo(VmStopReason.Fault), vm.StopInfo?.Report);
        int from = 0;
        foreach (string line in expected)
        {
            int at = Array.IndexOf(lines, line, from);
            Assert.That(at, Is.GreaterThanOrEqualTo(0), $"missing (in order): {line}");
            from = at + 1;
        }
    }

    [Test]
    public void Boot_DebianSeaBios_ReachesBootAttemptsAndWaitsWithTimerInterrupts()
    {
        // Arrange
        if (!File.Exists(BiosPath))
        {
            Assert.Ignore($"skipped: {BiosPath} not found (apt-get install seabios)");
        }

        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = 128 * 1024 * 1024 });
        StandardDevices devices = StandardDevices.Attach(vm);
        vm.AddCores(BiosGuest.FromFile(BiosPath).Load(vm));

        // Act: SeaBIOS tries floppy and hard disk, finds nothing and then waits in HLT with interrupts on (its timer
        // interrupts keep coming), so the run goes on until it is stopped.
        vm.Start();
        Eventually.Until(() => devices.DebugConsole.Output.Text().Contains("No bootable device.", StringComparison.Ordinal) || vm.HasStopped, "SeaBIOS's last line");
        Eventually.Until(() => vm.Cores[0].ExternalInterruptsTaken > 0 || vm.HasStopped, "a timer interrupt while SeaBIOS waits");
        bool stoppedByItself = vm.HasStopped;
        vm.Stop();
        string log = devices.DebugConsole.Output.Text();

        // Assert
        Assert.That(stoppedByItself, Is.False, vm.StopInfo?.Report);
        Assert.That(log, Does.Contain("=== PCI bus & bridge init ===").And.Contain("Booting from Floppy...").And.Contain("Booting from Hard Disk...").And.Contain("No bootable device."));
        Assert.That(vm.Cores[0].ExternalInterruptsTaken, Is.GreaterThan(0), "the PIT's IRQ 0 went through the PIC and the IVT");
        Assert.That(vm.Cores[0].InterruptsDelivered, Is.GreaterThan(0), "INT 10h/13h/19h went through the IVT");
    }
}
