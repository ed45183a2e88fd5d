// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.VmxDriver.Tests.Linux;

/// <summary>The console-log normaliser, on lines QEMU 7.2 printed booting Debian's 6.1 kernel.</summary>
public sealed class BootLogNormalizerTests
{
    [TestCase(
        "[    0.000000] tsc: Detected 2596.107 MHz processor\r",
        "tsc: Detected <N> MHz processor")]
    [TestCase(
        "[    0.300943] Calibrating delay loop (skipped), value calculated using timer frequency.. 5192.21 BogoMIPS (lpj=10384428)",
        "Calibrating delay loop (skipped), value calculated using timer frequency.. <N> BogoMIPS (lpj=<N>)")]
    [TestCase(
        "[    0.299913] clocksource: tsc-early: mask: 0xffffffffffffffff max_cycles: 0x256bde824e1, max_idle_ns: 440795301549 ns",
        "clocksource: tsc-early: mask: 0xffffffffffffffff max_cycles: <N>, max_idle_ns: <N> ns")]
    [TestCase(
        "[    1.445887] rtc_cmos rtc_cmos: setting system clock to 2026-12-02T17:22:24 UTC (1796232144)",
        "rtc_cmos rtc_cmos: setting system clock to <DATE> UTC (<N>)")]
    [TestCase(
        "[    1.515600] sched_clock: Marking stable (1493234197, 18704967)->(1547393024, -35453860)",
        "sched_clock: Marking stable (<N>)")]
    [TestCase(
        "[    0.059769] RAMDISK: [mem 0x0fee4000-0x0ffdffff]",
        "RAMDISK: [mem 0x0fee4000-0x0ffdffff]")]
    [TestCase("HYPERDBG-INIT-OK\r", "HYPERDBG-INIT-OK")]
    [TestCase("  0:        534    XT-PIC      timer\r", "  0:        <N>    XT-PIC      timer")]
    [TestCase("  4:         15    XT-PIC      ttyS0", "  4:        <N>    XT-PIC      ttyS0")]
    [TestCase("  4:        115    XT-PIC      ttyS0", "  4:        <N>    XT-PIC      ttyS0")]
    [TestCase("  1:         10    XT-PIC      i8042", "  1:         10    XT-PIC      i8042")]
    public void Normalize_Line(string raw, string expected) =>
        Assert.That(BootLogNormalizer.Normalize(raw), Is.EqualTo(new[] { expected }));

    [Test]
    public void Normalize_KernelMessageInTheMiddleOfAProgramsLine_BecomesItsOwnLine_AndTheProgramsLineIsWhole()
    {
        // Arrange: what QEMU's console once held: the kernel's message written between uname's text and its newline.
        const string Log = "HYPERDBG-INIT-OK\r\nLinux (none) 6.1.0 x86_64 GNU/Linux[    6.578289] clocksource: Switched to clocksource tsc\r\n\r\nconsole=ttyS0\r\n";

        // Act
        IReadOnlyList<string> lines = BootLogNormalizer.Normalize(Log);

        // Assert
        Assert.That(lines, Is.EqualTo(new[] { "HYPERDBG-INIT-OK", "clocksource: Switched to clocksource tsc", "Linux (none) 6.1.0 x86_64 GNU/Linux", "console=ttyS0" }));
    }

    [Test]
    public void Normalize_DropsFirmwareLinesAndEscapesBeforeTheKernelBanner()
    {
        // Arrange: the start of QEMU's console: SeaBIOS with terminal escapes, iPXE, the setup code, then the kernel.
        string log = "\u001bc\u001b[?7l\u001b[2J\u001b[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)\r\n\r\niPXE (http://ipxe.org) 00:03.0\r\n" +
            "Booting from ROM...\r\n\u001bc\u001b[?7l\u001b[2J\r\nKASLR disabled: 'nokaslr' on cmdline.\r\n" +
            "[    0.000000] Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)\r\n" +
            "[    0.000000] Command line: console=ttyS0\r\n\r\n\r\n";

        // Act
        IReadOnlyList<string> lines = BootLogNormalizer.Normalize(log);

        // Assert
        Assert.That(lines, Is.EqualTo(new[] { "Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)", "Command line: console=ttyS0" }));
    }

    [Test]
    public void SplitAtInit_KernelThroughRunInit_ThenWhatInitPrinted()
    {
        // Arrange
        string[] lines = ["Linux version 6.1.0-57-amd64", "Run /init as init process", "HYPERDBG-INIT-OK", "reboot: machine restart"];

        // Act
        (IReadOnlyList<string> kernel, IReadOnlyList<string> init) = BootLogNormalizer.SplitAtInit(lines);

        // Assert
        Assert.That(kernel, Is.EqualTo(lines[..2]));
        Assert.That(init, Is.EqualTo(lines[2..]));
        Assert.That(BootLogNormalizer.SplitAtInit(lines[..1]).Init, Is.Empty, "no /init: all of it is the kernel's");
    }

    [Test]
    public void WithoutKnownDifferences_DropsOnlyTheListedLines()
    {
        // Arrange: four lines that differ with reason (the TSC, the memory figure, the second line of QEMU's second CPU
        // failing its delay-loop calibration on a loaded host, a slow PCI fixup on a loaded host) and three that must stay.
        string[] lines =
        [
            "tsc: Fast TSC calibration failed",
            "Memory: 201448K/261624K available (14343K kernel code)",
            "serial8250: ttyS0 at I/O 0x3f8 (irq = 4, base_baud = 115200) is a 16550A",
            "Run /init as init process",
            "pci 0000:00:01.0: [8086:7000] type 00 class 0x060100",
            "Probably due to long platform interrupts. Consider using \"lpj=\" boot option.",
            "pci 0000:00:00.0: quirk_passive_release+0x0/0x80 took <N> usecs",
        ];

        // Act
        IReadOnlyList<string> kept = BootLogNormalizer.WithoutKnownDifferences(lines);

        // Assert
        Assert.That(kept, Is.EqualTo(new[] { lines[2], lines[3], lines[4] }));
        Assert.That(BootLogNormalizer.KnownDifferences.All(d => d.Reason.Length > 0), Is.True, "every difference says why");
    }
}
