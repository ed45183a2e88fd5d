// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text.RegularExpressions;

namespace HyperDbgRemote.Host.Tests;

/// <summary>
/// The I/O stories of issue 11 on Debian's kernel, in one boot of the real <c>bin/hyperdbg</c>: each event halts at
/// the first access to its port (a script that pauses once), and <c>ln @rip</c> names the kernel function that made
/// it: the PIT programming (<c>!ioout 43</c>), the RTC driver (<c>!ioout 70</c>), PCI probing (<c>!ioout cf8</c>)
/// and the i8042 driver (<c>!ioin 64</c>, <c>!ioin 60</c>). The halts come in boot order, whatever it is.
/// </summary>
[Category("EndToEnd")]
public sealed partial class LinuxIoStoriesTests
{
    [Test]
    public void LinuxGuest_FirstAccessToPitRtcPciAndI8042Ports_HaltsInTheDriverThatMakesIt()
    {
        // Arrange
        LinuxProcessesTests.SkipWithoutLinuxFiles();
        string[] events =
        [
            "!ioout 43 script { if (.a == 0) { .a = 1; printf(\"[port 43: %x]\\n\", @al); pause(); } }",
            "!ioout 70 script { if (.b == 0) { .b = 1; printf(\"[port 70: %x]\\n\", @al); pause(); } }",
            "!ioout cf8 script { if (.c == 0) { .c = 1; printf(\"[port cf8: %x]\\n\", @eax); pause(); } }",
            "!ioin 64 script { if (.d == 0) { .d = 1; printf(\"[port 64]\\n\"); pause(); } }",
            "!ioin 60 script { if (.e == 0) { .e = 1; printf(\"[port 60]\\n\"); pause(); } }",
        ];
        var args = new List<string> { "--local", "--guest", "linux", "--initial-break", "--wait", "600" };
        foreach (string e in events)
        {
            args.AddRange(["-c", e]);
        }

        foreach (string unused in events)
        {
            args.AddRange(["-c", "g", "-c", "ln @rip"]);
        }

        // Act
        (int exit, string output, string error) = HyperDbgProcess.Run(TimeSpan.FromMinutes(15), [.. args]);
        string all = output + error;

        // Assert: each port's halt is followed by its ln, naming the driver's function
        var functions = Halts().Matches(output).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        Assert.That(functions.Keys, Is.EquivalentTo(new[] { "43", "70", "cf8", "64", "60" }), all);
        // (Debian 6.1 under our platform: native_calibrate_cpu_early's PIT calibration, rtc_cmos_read,
        // read_pci_config_16 of the early PCI quirks, i8042_flush, __i8042_command)
        Assert.That(functions["43"], Does.Match("pit|calibrate"), "the PIT programming: " + all);
        Assert.That(functions["70"], Does.Match("rtc|cmos"), "the RTC/CMOS driver: " + all);
        Assert.That(functions["cf8"], Does.Contain("pci"), "PCI probing: " + all);
        Assert.That(functions["64"], Does.Contain("i8042"), "the i8042 driver: " + all);
        Assert.That(functions["60"], Does.Contain("i8042"), "the i8042 driver: " + all);
        Assert.That(output, Does.Contain("[port 43: b0]"), "the first PIT command: channel 2, lobyte/hibyte, mode 0 (the calibration)");
        Assert.That(output, Does.Match(@"\[port cf8: 8000[0-9a-f]{4}\]"), "a configuration address on bus 0, enable bit set");
        Assert.That(exit, Is.Zero, all);
    }

    /// <summary>A script's "[port P...]" line, then (after the halt report) ln's "linux!FUNCTION+0x..".</summary>
    [GeneratedRegex(@"\[port (\w+)[^\]]*\]\n(?:(?!\[port ).)*?\n\(ffffffff`[0-9a-f]{8}\)   linux!([\w.]+)\+0x", RegexOptions.Singleline)]
    private static partial Regex Halts();
}
