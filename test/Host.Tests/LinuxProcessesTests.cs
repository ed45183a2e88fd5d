// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text.RegularExpressions;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <summary>
/// Who runs on Debian's kernel, as the debugger says it and as the kernel says it: a boot without a root file system
/// (<c>rdinit=/nonexistent</c>) panics in kernel_init, pid 1, and the kernel's panic report names the task
/// (<c>CPU: 0 PID: 1 Comm: swapper/0</c>). The real <c>bin/hyperdbg</c> filters COM1's writes by pid, prints
/// <c>$pid</c>/<c>$tid</c>/<c>$pname</c> from scripts, halts after the panic text and looks at the guest.
/// </summary>
[Category("EndToEnd")]
public sealed partial class LinuxProcessesTests
{
    /// <summary>Halts after the line that ends the panic report, <c>---[ end Kernel panic ... ]---</c> (its last
    /// seven bytes, " ]---\r\n", in <c>.m</c>).</summary>
    private const string EndOfPanicScript = "!ioout 3f8 script { .m = (.m << 8) | @al; if ((.m & 0xffffffffffffff) == 0x205d2d2d2d0d0a) { pause(); } }";

    [Test]
    public void LinuxGuest_KernelPanicsInInit_PidFilterAndPnameAgreeWithThePanicReport_DebuggerLooksAtTheHaltedGuest()
    {
        // Arrange
        SkipWithoutLinuxFiles();

        // Act: three events from the initial break: pid 1's console bytes, the first byte's writer, the end of the panic
        (int exit, string output, string error) = HyperDbgProcess.Run(
            TimeSpan.FromMinutes(15),
            "--local", "--guest", "linux,append=rdinit=/nonexistent", "--initial-break", "--wait", "600",
            "-c", "!ioout 3f8 pid 1 script { printf(\"%c\", @al); }",
            "-c", "!ioout 3f8 script { if (.f == 0) { .f = 1; printf(\"[first byte: pid %d tid %d %s]\\n\", $pid, $tid, $pname); } }",
            "-c", EndOfPanicScript,
            "-c", "g",
            "-c", "? printf(\"[at the halt: pid %d tid %d %s]\\n\", $pid, $tid, $pname);",
            "-c", "r rip",
            "-c", "ln @rip",
            "-c", ".status");
        string all = output + error;
        int halt = output.IndexOf("event 0x2 triggered (pre)", StringComparison.Ordinal);
        Assert.That(halt, Is.GreaterThan(0), all);
        string pidOne = output[..halt];

        // Assert: the kernel's first console byte comes from the boot task (pid 0)
        Assert.That(output, Does.Contain("[first byte: pid 0 tid 0 swapper]\n"));

        // only pid 1's writes came through the filtered event: not the boot banner (swapper), but the panic report
        Assert.That(pidOne, Does.Not.Contain("Linux version"));
        Assert.That(pidOne, Does.Not.Contain("Command line:"));
        Assert.That(pidOne, Does.Contain("Kernel panic - not syncing: VFS: Unable to mount root fs"));
        Match report = PanicReport().Match(pidOne);
        Assert.That(report.Success, Is.True, "the panic report names the task: " + all);

        // the debugger's $pid, $tid and $pname at the halt are what the kernel printed of itself
        string pid = report.Groups[1].Value;
        Assert.That(pid, Is.EqualTo("1"));
        Assert.That(output, Does.Contain($"[at the halt: pid {pid} tid {pid} {report.Groups[2].Value}]\n"));

        // the halted guest: in the 8250 driver's output routine, the profile's offsets from BTF
        Assert.That(output[halt..], Does.Match(@"> ln @rip\n\(ffffffff`[0-9a-f]{8}\)   linux!io_serial_out\+0x[0-9a-f]+ "));
        Assert.That(output, Does.Match(@"processes: linux \(task_struct from BTF: pid \+0x[0-9a-f]+, tgid \+0x[0-9a-f]+, comm \+0x[0-9a-f]+\)\n"));
        Assert.That(output, Does.Contain("debuggee: halted"));
        Assert.That(exit, Is.Zero, all);
    }

    internal static void SkipWithoutLinuxFiles()
    {
        string root = ConformanceRoot.SolutionDirectory() ?? throw new AssertionException("HyperDbgRemote.sln not found");
        string dir = Path.Combine(root, ".cache", "linux");
        if (!File.Exists(Path.Combine(dir, "System.map")) || !File.Exists(Path.Combine(dir, "vmlinuz")) || !File.Exists(Path.Combine(dir, "initramfs.cpio.gz")))
        {
            Assert.Ignore("skipped: the Linux guest files are missing (run ./build.sh deps)");
        }
    }

    [GeneratedRegex(@"CPU: 0 PID: (\d+) Comm: (\S+) ")]
    private static partial Regex PanicReport();
}
