// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <summary>
/// The demo guest's two ring-3 processes through a real agent and debugger: the same user address shows each process's
/// own bytes, <c>$pid</c>/<c>$pname</c> follow the CR3 the core runs with, and a <c>pid</c> filter passes only that
/// process's COM1 writes (the kernel writes COM1 for the process that asked with SYSCALL, in its address space).
/// </summary>
public sealed class DemoProcessesTests
{
    /// <summary>The command that prints the current process, and what <c>db 40001000 l 8</c> shows in each process.</summary>
    private const string Info = "? printf(\"pid=%x name=%s\\n\", $pid, $pname);";
    private const string LoggerBytes = "00000000`40001000  6c 6f 67 67 65 72 00 00-                         logger..";
    private const string ShellBytes = "00000000`40001000  73 68 65 6c 6c 00 00 00-                         shell...";

    [Test]
    public void SameUserAddress_DifferentBytesPerProcess_PidFilterAndPnameFollowCr3()
    {
        // Arrange: an agent serving gRPC on loopback, holding the demo at its initial break.
        using DebuggerProcesses.AgentChild agent = DebuggerProcesses.StartAgent("--guest", "demo", "--initial-break", "--listen", "grpc://127.0.0.1:0");

        // Act: event 0 prints what shell (pid 1) writes to COM1; event 1 halts when the kernel, switched to logger
        // (pid 2), writes logger's POST code. Between logger's first and second run, shell prints a whole line. Then a
        // halt on shell's COM1 write.
        (int exit, string output, string errors) = HyperDbgProcess.Run(
            TimeSpan.FromMinutes(2),
            "--connect", agent.Listen[0], "--wait", "60",
            "-c", "!ioout 3f8 pid 1 script { printf(\"<%x:%c>\", $pid, @al); }",
            "-c", "!ioout 80 pid 2",
            "-c", "g",
            "-c", "g",
            "-c", "db 40001000 l 8",
            "-c", Info,
            "-c", "r cr3",
            "-c", "events c 1",
            "-c", "!ioout 3f8 pid 1",
            "-c", "g",
            "-c", "db 40001000 l 8",
            "-c", Info,
            "-c", "r cr3",
            "-c", "events c all",
            "-c", "g");

        // Assert
        Assert.That(exit, Is.Zero, output + errors);
        Assert.That(output, Does.Contain(LoggerBytes).And.Contain(ShellBytes), "the same address, each process's own bytes");
        Assert.That(output.IndexOf(LoggerBytes, StringComparison.Ordinal), Is.LessThan(output.IndexOf(ShellBytes, StringComparison.Ordinal)));
        Assert.That(output, Does.Contain("pid=2 name=logger\n").And.Contain("cr3=0000000000304000"));
        Assert.That(output, Does.Contain("pid=1 name=shell\n").And.Contain("cr3=0000000000300000"));
        Assert.That(output.IndexOf("pid=2 name=logger", StringComparison.Ordinal), Is.LessThan(output.IndexOf("pid=1 name=shell", StringComparison.Ordinal)));
        Assert.That(output, Does.Contain("<1:s><1:h><1:e><1:l><1:l>"), "event 0 saw shell's name, written by the kernel for shell");
        Assert.That(output, Does.Not.Contain("<0:").And.Not.Contain("<2:").And.Not.Contain("<3:"), "and nothing written for another pid");
    }

    [Test]
    public void TimerSwitch_InterruptEventPerProcess_DbPidAndPnameFollowTheCr3TheTimerLoaded()
    {
        // Arrange: the demo held at its initial break by a real agent on loopback.
        using DebuggerProcesses.AgentChild agent = DebuggerProcesses.StartAgent("--guest", "demo", "--initial-break", "--listen", "grpc://127.0.0.1:0");

        // Act: the processes make no system call to switch: the PIT's IRQ 0 (vector 0x20) preempts them in ring 3.
        // Halt on it in logger (pid 2), then, after clearing that event, in shell (pid 1): the switch in between can
        // only have been the timer's. At each halt the same user address shows the interrupted process's bytes.
        (int exit, string output, string errors) = HyperDbgProcess.Run(
            TimeSpan.FromMinutes(2),
            "--connect", agent.Listen[0], "--wait", "60",
            "-c", "!interrupt 20 pid 2",
            "-c", "g",
            "-c", "db 40001000 l 8",
            "-c", Info,
            "-c", "r cs",
            "-c", "r cr3",
            "-c", "events c all",
            "-c", "!interrupt 20 pid 1",
            "-c", "g",
            "-c", "db 40001000 l 8",
            "-c", Info,
            "-c", "r cs",
            "-c", "r cr3",
            "-c", "events c all",
            "-c", "g");

        // Assert
        Assert.That(exit, Is.Zero, output + errors);
        string[] halts = output.Split("event 0x");
        Assert.That(halts, Has.Length.EqualTo(3), output);
        Assert.That(halts[1], Does.StartWith("0 triggered (pre, !interrupt, vector 0x20)\n00000000`4000"), "in logger's user page");
        Assert.That(halts[1], Does.Contain(LoggerBytes));
        Assert.That(halts[1], Does.Contain("pid=2 name=logger\n").And.Contain("cs=000000000000002b").And.Contain("cr3=0000000000304000"));
        Assert.That(halts[2], Does.StartWith("1 triggered (pre, !interrupt, vector 0x20)\n00000000`4000"), "in shell's user page");
        Assert.That(halts[2], Does.Contain(ShellBytes));
        Assert.That(halts[2], Does.Contain("pid=1 name=shell\n").And.Contain("cs=000000000000002b").And.Contain("cr3=0000000000300000"));
    }
}
