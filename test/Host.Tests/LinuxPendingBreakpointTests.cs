// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <summary>
/// A breakpoint on a kernel function set at the initial break, where the kernel does not run at its virtual addresses
/// yet: it is set as pending, and hit in pid 1 (the kernel's init thread executing /init) once the kernel runs there.
/// </summary>
[Category("EndToEnd")]
public sealed class LinuxPendingBreakpointTests
{
    [Test]
    public void LinuxGuest_BpOnAKernelFunctionAtTheInitialBreak_IsPending_ThenHitInPidOne()
    {
        // Arrange
        LinuxProcessesTests.SkipWithoutLinuxFiles();

        // Act: kernel_execve runs for usermode helpers (other pids) and for pid 1's exec of /init
        (int exit, string output, string error) = HyperDbgProcess.Run(
            TimeSpan.FromMinutes(15),
            "--local", "--guest", "linux", "--initial-break", "--wait", "600",
            "-c", "bp linux!kernel_execve pid 1",
            "-c", "bl",
            "-c", "g",
            "-c", "? printf(\"[at the halt: pid %d %s]\\n\", $pid, $pname);",
            "-c", "ln @rip",
            "-c", "bl");
        string all = output + error;

        // Assert: pending at the initial break (no page maps the kernel's virtual address yet), listed as pending, then
        // hit (listed as enabled)
        Assert.That(output, Does.Match(@"breakpoint 0x1 is pending: ffffffff[0-9a-f]{8} is not mapped now \(core 0's page tables\); it is hit when code there runs\.\n"), all);
        Assert.That(output, Does.Match(@"\n01   ffffffff`[0-9a-f]{8}   pending    0      pid 1\n"), all);
        int hit = output.IndexOf("breakpoint 0x1 hit\n", StringComparison.Ordinal);
        Assert.That(hit, Is.GreaterThan(0), all);

        // in pid 1, the kernel's init thread (its comm is the boot task's until /init is executed)
        Assert.That(output[hit..], Does.Match(@"\n\[at the halt: pid 1 swapper/0\]\n"), all);
        Assert.That(output[hit..], Does.Match(@"> ln @rip\n\(ffffffff`[0-9a-f]{8}\)   linux!kernel_execve   \|"), all);
        Assert.That(output[hit..], Does.Match(@"\n01   ffffffff`[0-9a-f]{8}   enabled    1      pid 1\n"), "one hit: the helpers' execs in other pids were filtered out: " + all);
        Assert.That(exit, Is.Zero, all);
    }
}
