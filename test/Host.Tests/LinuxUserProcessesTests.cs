// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text.RegularExpressions;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <summary>
/// The Linux profile follows user processes: with the default command line the kernel runs <c>/init</c> (a busybox
/// shell script) in ring 3, and its <c>echo HYPERDBG-INIT-OK</c> reaches COM1 from pid 1, whose comm the kernel set
/// from the executed file's name (<c>init</c>), while the kernel's early lines come from the boot task (pid 0,
/// <c>swapper</c>). The real <c>bin/hyperdbg</c> annotates every console line with <c>$pid</c>/<c>$tid</c>/<c>$pname</c>
/// of its writer and halts after the marker line.
/// </summary>
[Category("EndToEnd")]
public sealed class LinuxUserProcessesTests
{
    /// <summary>Every console line, without its CR, followed by its writer at the line's LF.</summary>
    private const string AnnotateScript = "!ioout 3f8 script { if (@al == 0xa) { printf(\" <pid %d tid %d %s>\\n\", $pid, $tid, $pname); } else { if (@al != 0xd) { printf(\"%c\", @al); } } }";

    /// <summary>Halts after the marker line's last eight bytes, "NIT-OK\r\n", in <c>.m</c>.</summary>
    private const string EndOfMarkerScript = "!ioout 3f8 script { .m = (.m << 8) | @al; if (.m == 0x4e49542d4f4b0d0a) { pause(); } }";


    [Test]
    public void LinuxGuest_HaltedAtSyscallsInRing3_PidAndPnameAreTheUserProcesss_AndTheKernelsAfterItEntersTheKernel()
    {
        // Arrange
        LinuxProcessesTests.SkipWithoutLinuxFiles();

        // Act: '!syscall' halts at a SYSCALL in ring 3 before it executes (pre). The boot's first SYSCALL is /init's
        // (pid 1 after its exec, comm 'init'); the first exit_group (0xe7) is the first program /init runs,
        // '/bin/busybox --install -s /bin', in a child process (comm 'busybox'). Two steps then take that child into
        // the kernel's entry and past its SWAPGS, where the profile reads the kernel's own per-CPU base.
        (int exit, string output, string error) = HyperDbgProcess.Run(
            TimeSpan.FromMinutes(15),
            "--local", "--guest", "linux", "--initial-break", "--wait", "600",
            "-c", "!syscall",
            "-c", "g",
            "-c", WhoRuns("first syscall"),
            "-c", "events c all",
            "-c", "!syscall e7",
            "-c", "g",
            "-c", WhoRuns("first exit_group"),
            "-c", "t",
            "-c", "t",
            "-c", WhoRuns("after swapgs"));
        string all = output + error;

        // Assert: halted in ring 3 at the SYSCALL instruction, twice
        Assert.That(output, Does.Match(@"event 0x0 triggered \(pre, !syscall, system call \(rax\) 0x[0-9a-f]+\)\n00000000`[0-9a-f]{8} 0f 05 "), all);
        Assert.That(output, Does.Match(@"event 0x1 triggered \(pre, !syscall, system call \(rax\) 0xe7\)\n00000000`[0-9a-f]{8} 0f 05 "), all);

        // the first is init's, pid 1, asked in ring 3
        Assert.That(output, Does.Contain("[first syscall: pid 1 tid 1 init cpl 3]\n"), all);

        // the second is busybox's, in a process of its own (a single thread: tid = pid)
        Match child = Regex.Match(output, @"\[first exit_group: pid (\d+) tid (\d+) busybox cpl 3\]\n");
        Assert.That(child.Success, Is.True, all);
        Assert.That(child.Groups[1].Value, Is.Not.EqualTo("1"));
        Assert.That(child.Groups[2].Value, Is.EqualTo(child.Groups[1].Value));

        // in ring 0, after the kernel's SWAPGS, the same task
        Assert.That(output, Does.Contain($"[after swapgs: pid {child.Groups[1].Value} tid {child.Groups[1].Value} busybox cpl 0]\n"), all);
        Assert.That(exit, Is.Zero, all);
    }

    /// <summary>Prints who runs, as the profile says, and the privilege level (CS's RPL), tagged with <paramref name="where"/>.</summary>
    private static string WhoRuns(string where) => "? printf(\"[" + where + ": pid %d tid %d %s cpl %d]\\n\", $pid, $tid, $pname, @cs & 3);";

    [Test]
    public void LinuxGuest_DefaultBoot_InitsEchoComesFromPidOne_KernelsEarlyLinesFromSwapper()
    {
        // Arrange
        LinuxProcessesTests.SkipWithoutLinuxFiles();

        // Act: one boot with the default command line, halted right after /init's marker line
        (int exit, string output, string error) = HyperDbgProcess.Run(
            TimeSpan.FromMinutes(15),
            "--local", "--guest", "linux", "--initial-break", "--wait", "600",
            "-c", AnnotateScript,
            "-c", EndOfMarkerScript,
            "-c", "g",
            "-c", "? printf(\"[at the halt: pid %d tid %d %s cs %x]\\n\", $pid, $tid, $pname, @cs);",
            "-c", ".status");
        int halt = output.IndexOf("event 0x1 triggered (pre)", StringComparison.Ordinal);
        var diagnosis = new Lazy<string>(() => Diagnosis(exit, output, error, halt));
        Assert.That(halt, Is.GreaterThan(0), () => diagnosis.Value);
        string console = output[..halt];

        // Assert: the kernel's banner is the boot task's
        Assert.That(console, Does.Match(@"\[ *0\.0+\] Linux version 6\.1\.[^\n]* <pid 0 tid 0 swapper>\n"), () => diagnosis.Value);

        // pid 1 before its exec is the kernel's init thread, comm swapper/0 (as the kernel's panic report names it)
        Assert.That(console, Does.Match(@"\n\[ *[0-9.]+\] Run /init as init process <pid 1 tid 1 swapper/0>\n"), () => diagnosis.Value);

        // the marker is written by /init, pid 1, in user mode's process: its comm is the executed file's name
        Assert.That(console, Does.Contain("\nHYPERDBG-INIT-OK <pid 1 tid 1 init>\n"), () => diagnosis.Value);
        Assert.That(output[halt..], Does.Contain("[at the halt: pid 1 tid 1 init"), () => diagnosis.Value);
        Assert.That(output, Does.Contain("debuggee: halted"), () => diagnosis.Value);
        Assert.That(exit, Is.Zero, () => diagnosis.Value);
    }

    /// <summary>
    /// What a failure needs to say, first lines first (a CI listing shows a message's first lines only): the exit status,
    /// the sizes, where the whole output was saved, every line with the marker and whether it came before the halt
    /// notice, stderr's start, and stdout around the halt notice (its end when there is none).
    /// </summary>
    private static string Diagnosis(int exit, string output, string error, int halt)
    {
        string path = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"{TestContext.CurrentContext.Test.MethodName}-{DateTime.UtcNow:yyyyMMdd-HHmmss-fff}.log");
        File.WriteAllText(path, $"exit status {exit}\n--- stdout ---\n{output}\n--- stderr ---\n{error}");
        TestContext.AddTestAttachment(path, "the debugger's whole output");
        var text = new System.Text.StringBuilder();
        text.Append($"exit status {exit}, stdout {output.Length} characters, stderr {error.Length}; the halt notice at {halt}; the whole output in {path}\n");
        foreach (Match marker in Regex.Matches(output, "[^\n]*HYPERDBG-INIT-OK[^\n]*"))
        {
            text.Append($"marker line at {marker.Index} ({(halt >= 0 && marker.Index < halt ? "before" : "after")} the halt notice): {marker.Value}\n");
        }

        if (error.Length > 0)
        {
            text.Append($"stderr begins: {error[..Math.Min(error.Length, 400)]}\n");
        }

        int from = halt < 0 ? Math.Max(0, output.Length - 3000) : Math.Max(0, halt - 2000);
        return text.Append($"stdout from {from}:\n").Append(output[from..Math.Min(output.Length, from + 4000)]).ToString();
    }
}
