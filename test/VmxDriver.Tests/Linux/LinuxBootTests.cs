// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Tests.Shared;
using HyperDbgRemote.VmxDriver.Devices;
using HyperDbgRemote.VmxDriver.Guests.Linux;

namespace HyperDbgRemote.VmxDriver.Tests.Linux;

/// <summary>
/// Debian's own kernel and initramfs (fetched by ./build.sh deps) booted on our machine, compared with QEMU 7.2 TCG
/// booting the same files with the same command line: the console logs agree line for line, once normalised, but for
/// the differences <see cref="BootLogNormalizer.KnownDifferences"/> lists with their reasons. The kernel's boot is
/// compared as a multiset (drivers probe asynchronously), what /init prints in user mode in order.
/// </summary>
[Category("Firmware")]
public sealed class LinuxBootTests
{
    private const string InitOk = "HYPERDBG-INIT-OK";
    private const string ShellLine = "busybox shell on the console";
    private const string RunDone = "HYPERDBG-RUN-DONE";
    private const string ApicTimerVerificationFailed = "APIC timer disabled due to verification failure";
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(3);

    /// <summary>
    /// The kernel calibrated its TSC against the PIT (channel 2 gated through port 61h) and found our 1 GHz: by the fast
    /// path (<c>quick_pit_calibrate</c>) as on QEMU, or, when the host stalled our core at one of its few critical reads,
    /// by the slow one (<c>pit_calibrate_tsc</c>); never "unable to calibrate", which marks the TSC unstable.
    /// </summary>
    private static void AssertTscCalibrated(string log)
    {
        Assert.That(log, Does.Match(@"tsc: Detected (999\.[5-9]\d\d|1000\.[0-4]\d\d) MHz processor"), "the TSC calibrated against the PIT at 1 GHz");
        Assert.That(log, Does.Not.Contain("Unable to calibrate against PIT").And.Not.Contain("Marking TSC unstable"));
    }

    [Test]
    public async Task Boot_DefaultCommandLine_RunsInitInUserModeToTheShell_AndItsLogMatchesQemus()
    {
        // Arrange
        (string kernel, string initrd) = FilesOrIgnore();
        (VirtualMachine vm, StandardDevices devices) = Boot(kernel, initrd, LinuxGuest.DefaultCommandLine);
        using (vm)
        {
            // Act: ours until /init (in ring 3) says it starts the shell, then QEMU to the same line.
            vm.Start();
            WaitForConsole(vm, devices, ShellLine);
            vm.Stop();
            string ours = ThroughLine(devices.Com1.Transmitted.Text(), ShellLine); // QEMU's capture ends there too
            QemuBootResult qemu = await QemuOracle.BootLinuxAsync(kernel, initrd, LinuxGuest.DefaultCommandLine, ShellLine, s_timeout);

            // Assert
            Assert.That(ours, Does.Contain(InitOk), vm.StopInfo?.Report);
            Assert.That(vm.Cores[0].ExternalInterruptsTaken, Is.GreaterThan(100), "timer, serial and keyboard interrupts were taken");
            Assert.That(ours, Does.Not.Contain("unchecked MSR access"), "an MSR access the kernel does not guard raised #GP (MsrCatalog lacks it)");
            AssertTscCalibrated(ours);
            Assert.That(qemu.Console, Does.Contain(ShellLine), qemu.Errors);
            AssertSameLog(ours, qemu.Console, initLines: 2);
        }
    }

    [Test]
    public async Task Boot_RunCommandLine_RunsInitsCommandsAndResetsThroughTheI8042_AndItsLogMatchesQemus()
    {
        // Arrange: hyperdbg.run=1 makes /init run uname, cat /proc/cmdline and /proc/interrupts, then reboot -f.
        (string kernel, string initrd) = FilesOrIgnore();
        string commandLine = LinuxGuest.DefaultCommandLine + " hyperdbg.run=1";
        (VirtualMachine vm, StandardDevices devices) = Boot(kernel, initrd, commandLine);
        using (vm)
        {
            // Act: the reset ends our run, as -no-reboot ends QEMU's.
            vm.Start();
            VmStopInfo? stop = vm.WaitForStop(s_timeout);
            string ours = devices.Com1.Transmitted.Text();
            QemuBootResult qemu = await QemuOracle.BootLinuxAsync(kernel, initrd, commandLine, marker: null, s_timeout);

            // Assert
            Assert.That(stop, Is.Not.Null, $"the run did not end; the console ended with:\n{Tail(ours)}");
            Assert.That(stop!.Reason, Is.EqualTo(VmStopReason.Reset), stop.Report);
            Assert.That(stop.Report, Does.Contain("i8042 command 0xFE"));
            Assert.That(ours, Does.Contain(InitOk).And.Contain("Linux (none) 6.1").And.Contain("hyperdbg.run=1"));
            AssertTscCalibrated(ours);
            Assert.That(ours.IndexOf(RunDone, StringComparison.Ordinal), Is.LessThan(ours.IndexOf("reboot: machine restart", StringComparison.Ordinal)).And.GreaterThan(0));
            Assert.That(qemu.ExitCode, Is.Zero, "QEMU ended by itself at the reset: " + qemu.Errors);
            Assert.That(qemu.Console, Does.Contain(RunDone));
            AssertSameLog(ours, qemu.Console, initLines: 30);
        }
    }

    [Test]
    public async Task Boot_ApicOn_RunCommandLine_TakesTheTimerThroughTheIoApicAndTheLocalApicTimer_AndItsLogMatchesQemus()
    {
        // Arrange: apic=on's command line (no noapic nolapic); QEMU boots the same with its SeaBIOS MP table.
        (string kernel, string initrd) = FilesOrIgnore();
        string commandLine = LinuxGuest.ApicCommandLine + " hyperdbg.run=1";
        (VirtualMachine vm, StandardDevices devices) = Boot(kernel, initrd, commandLine, apic: true);
        using (vm)
        {
            // Act
            vm.Start();
            VmStopInfo? stop = vm.WaitForStop(s_timeout);
            string ours = devices.Com1.Transmitted.Text();
            QemuBootResult qemu = await QemuOracle.BootLinuxAsync(kernel, initrd, commandLine, marker: null, s_timeout);

            // Assert: /proc/interrupts (cat by /init) shows the IO-APIC's lines and the local APIC timer counting.
            Assert.That(stop, Is.Not.Null, $"the run did not end; the console ended with:\n{Tail(ours)}");
            Assert.That(stop!.Reason, Is.EqualTo(VmStopReason.Reset), stop.Report + "\n" + Tail(ours));
            Assert.That(ours, Does.Contain(InitOk).And.Contain("IO-APIC   2-edge      timer").And.Contain("IO-APIC   4-edge      ttyS0"));
            Assert.That(ours, Does.Match(@"LOC: +[1-9][0-9]* +Local timer interrupts"), "the local APIC timer interrupted");
            Assert.That(ours, Does.Not.Contain(ApicTimerVerificationFailed), "the kernel found our local APIC timer inconsistent with the PIT");
            Assert.That(qemu.Console, Does.Contain(RunDone), qemu.Errors);

            // QEMU's TCG paces its timers by the host's clock: on a loaded host its kernel sometimes finds the local APIC timer
            // inconsistent with the PIT and disables it (seen with two CPU hogs). That line is the oracle's, not ours (held above).
            string qemuLog = string.Join('\n', qemu.Console.Split('\n').Where(line => !line.Contains(ApicTimerVerificationFailed, StringComparison.Ordinal)));
            AssertSameLog(ours, qemuLog, initLines: 30, interruptCounts: false);
        }
    }

    [Test]
    [Explicit("QEMU's half of the comparison is not yet reliable on a loaded host (docs/vmx-driver.md, 'Two cores under host load'); run it by name")]
    public async Task Boot_TwoCoresApicOn_BringsUpTheApplicationProcessorByInitAndStartupIpis_AndItsLogMatchesQemus()
    {
        // Arrange: QEMU with two sockets of one core, our topology (CPUID reports one core per package): QEMU 7.2's
        // "-smp 2" is one socket of two cores, and SeaBIOS lists only a package's first CPU in the MP table, so with
        // acpi=off that kernel would bring up 1 CPU.
        (string kernel, string initrd) = FilesOrIgnore();
        string commandLine = LinuxGuest.ApicCommandLine + " hyperdbg.run=1";
        (VirtualMachine vm, StandardDevices devices) = Boot(kernel, initrd, commandLine, apic: true, cores: 2);
        using (vm)
        {
            // Act
            vm.Start();
            VmStopInfo? stop = vm.WaitForStop(s_timeout);
            string ours = devices.Com1.Transmitted.Text();
            QemuBootResult qemu = await QemuOracle.BootLinuxAsync(kernel, initrd, commandLine, marker: null, s_timeout, extraArguments: ["-smp", "2,sockets=2"]);

            // Assert: the kernel started CPU 1 (INIT, STARTUP to its real-mode trampoline, into long mode) and both
            // take interrupts (/proc/interrupts has a column per CPU).
            Assert.That(stop, Is.Not.Null, $"the run did not end; the console ended with:\n{Tail(ours)}");
            Assert.That(stop!.Reason, Is.EqualTo(VmStopReason.Reset), stop.Report + "\n" + Tail(ours));
            Assert.That(ours, Does.Contain("smp: Brought up 1 node, 2 CPUs").And.Contain("smpboot: Allowing 2 CPUs, 0 hotplug CPUs"));
            Assert.That(ours, Does.Contain(InitOk).And.Match(@"CPU0 +CPU1"));
            Assert.That(ours, Does.Not.Contain("TSC synchronization").And.Not.Contain("TSC warp"));
            Assert.That(vm.Cores[1].Startups, Is.GreaterThanOrEqualTo(1), "CPU 1 was started by a start-up IPI");
            Assert.That(vm.Cores[1].Is64Bit, Is.True, "CPU 1 followed the kernel's trampoline into long mode");
            Assert.That(qemu.Console, Does.Contain(RunDone).And.Contain("smp: Brought up 1 node, 2 CPUs"), $"QEMU ended after {qemu.Elapsed.TotalSeconds:F1} s with exit code {qemu.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none (stopped at the deadline)"}; its standard error: {qemu.Errors}");
            string qemuLog = string.Join('\n', qemu.Console.Split('\n').Where(line => !line.Contains(ApicTimerVerificationFailed, StringComparison.Ordinal)));
            AssertSameLog(ours, qemuLog, initLines: 30, interruptCounts: false);
        }
    }

    private static (string Kernel, string Initrd) FilesOrIgnore()
    {
        string kernel = LinuxFiles.KernelOrIgnore();
        string initrd = LinuxFiles.InitramfsOrIgnore();
        if (QemuOracle.Find() is null)
        {
            Assert.Ignore("skipped: qemu-system-x86_64 not found (./build.sh deps installs qemu-system-x86)");
        }

        return (kernel, initrd);
    }

    private static (VirtualMachine Vm, StandardDevices Devices) Boot(string kernel, string initrd, string commandLine, bool apic = false, int cores = 1)
    {
        LinuxGuest guest = LinuxGuest.FromFiles(kernel, initrd, commandLine, apic: apic);
        var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = guest.DefaultMemoryBytes ?? (256UL << 20), Apic = apic, Cores = cores });
        StandardDevices devices = StandardDevices.Attach(vm, new StandardDevicesOptions { SerialPorts = 1 }); // QEMU: one COM port per -serial
        vm.AddCores(guest.Load(vm));
        return (vm, devices);
    }

    private static void WaitForConsole(VirtualMachine vm, StandardDevices devices, string line)
    {
        try
        {
            Eventually.Until(() => devices.Com1.Transmitted.Text().Contains(line, StringComparison.Ordinal) || vm.HasStopped, "the console reaches " + line, s_timeout);
        }
        catch (TimeoutException ex)
        {
            Assert.Fail($"{ex.Message}; {vm.Cores[0].ExternalInterruptsTaken} interrupts taken; the console ended with:\n{Tail(devices.Com1.Transmitted.Text())}");
        }
    }

    private static string ThroughLine(string console, string marker)
    {
        int at = console.IndexOf(marker, StringComparison.Ordinal);
        int end = at < 0 ? -1 : console.IndexOf('\n', at);
        return end < 0 ? console : console[..(end + 1)];
    }

    private static string Tail(string console) => string.Join('\n', console.Split('\n').TakeLast(15));

    /// <summary>The kernel's lines to <c>Run /init</c> as multisets; /init's lines in order, at least
    /// <paramref name="initLines"/> of them.</summary>
    private static void AssertSameLog(string ours, string qemu, int initLines, bool interruptCounts = true)
    {
        if (!interruptCounts)
        {
            // /proc/interrupts' counts of the serial and keyboard IRQs depend on how the host paced the console: with the
            // APICs they differ from QEMU's from run to run; the lines' sources, chips and names must agree.
            // Every CPU's column.
            ours = System.Text.RegularExpressions.Regex.Replace(ours, @"(?m)^( *[A-Z0-9]+:)(?: +[0-9]+)+ ", "$1 # ");
            qemu = System.Text.RegularExpressions.Regex.Replace(qemu, @"(?m)^( *[A-Z0-9]+:)(?: +[0-9]+)+ ", "$1 # ");
        }

        (IReadOnlyList<string> myKernel, IReadOnlyList<string> myInit) = BootLogNormalizer.SplitAtInit(BootLogNormalizer.Normalize(ours));
        (IReadOnlyList<string> theirKernel, IReadOnlyList<string> theirInit) = BootLogNormalizer.SplitAtInit(BootLogNormalizer.Normalize(qemu));
        IReadOnlyList<string> mine = BootLogNormalizer.WithoutKnownDifferences(myKernel);
        Assert.That(mine, Has.Count.GreaterThan(150));
        Assert.That(mine, Is.EquivalentTo(BootLogNormalizer.WithoutKnownDifferences(theirKernel)));
        IReadOnlyList<string> myScript = BootLogNormalizer.WithoutKnownDifferences(myInit);
        Assert.That(myScript, Has.Count.GreaterThanOrEqualTo(initLines));
        Assert.That(myScript, Is.EqualTo(BootLogNormalizer.WithoutKnownDifferences(theirInit)));
    }
}
