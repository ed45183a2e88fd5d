// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Host.Tests;

/// <summary>
/// A kernel panic halts Debian's kernel by itself and the debugger looks at it: the boot without a root file system
/// (<c>rdinit=/nonexistent</c>, Debian's <c>panic=0</c>: the kernel spins for ever after its report) halts once the
/// kernel has printed <c>---[ end Kernel panic ...</c>, the real <c>bin/hyperdbg</c> says why, and <c>r</c>, <c>k</c>
/// and <c>db</c> work at that halt. <c>--no-panic-halt</c> leaves the kernel spinning.
/// </summary>
[Category("EndToEnd")]
public sealed class LinuxKernelPanicTests
{
    private const string Panicking = "linux,append=rdinit=/nonexistent";

    [Test]
    public void LinuxGuest_KernelPanics_GuestHaltsWithThePanicMessage_RegistersStackAndMemoryCanBeRead()
    {
        // Arrange
        LinuxProcessesTests.SkipWithoutLinuxFiles();

        // Act: no event at all; the first halt after g is the panic's
        (int exit, string output, string error) = HyperDbgProcess.Run(
            TimeSpan.FromMinutes(15),
            "--local", "--guest", Panicking, "--initial-break", "--wait", "600",
            "-c", "g",
            "-c", "r",
            "-c", "k",
            "-c", "db @rsp l 10",
            "-c", "bl",
            "-c", "? printf(\"[pid %d %s]\\n\", $pid, $pname);");
        string all = output + error;

        // Assert: the message names the panic and says what can be done
        Assert.That(output, Does.Contain("kernel panic: VFS: Unable to mount root fs on unknown-block(0,0); the guest is halted (core 0): r, k, db work; g continues\n"), all);

        // r: kernel-mode registers
        Assert.That(output, Does.Match(@"RIP=ffffffff8[0-9a-f]{7} RSP=ffff[0-9a-f]{12} "), all);
        Assert.That(output, Does.Contain("CS 0010 SS 0018"), all);

        // k: the stack holds panic()'s frame, named from System.map
        int k = output.IndexOf("> k\n", StringComparison.Ordinal);
        int db = output.IndexOf("> db @rsp l 10\n", StringComparison.Ordinal);
        Assert.That(k, Is.GreaterThan(0), all);
        Assert.That(db, Is.GreaterThan(k), all);
        Assert.That(output[k..db], Does.Match(@"linux!panic\+0x[0-9a-f]+"), all);

        // db: the kernel stack reads through the kernel's page tables
        Assert.That(output[db..], Does.Match(@"> db @rsp l 10\nffff[0-9a-f]{4}`[0-9a-f]{8}  [0-9a-f]{2} "), all);

        // the watch's trap is not a breakpoint; the panicking task is kernel_init, pid 1
        Assert.That(output, Does.Contain("> bl\nno breakpoints are set\n"), all);
        Assert.That(output, Does.Contain("[pid 1 swapper/0]\n"), all);
        Assert.That(exit, Is.Zero, all);
    }

    [Test]
    public void LinuxGuest_KernelPanicsWithNoPanicHalt_GuestRunsOnAfterTheReport_OnlyABreakInHaltsIt()
    {
        // Arrange
        LinuxProcessesTests.SkipWithoutLinuxFiles();

        // Act: halt at the last byte of the panic report (an event), continue past it, then break in
        (int exit, string output, string error) = HyperDbgProcess.Run(
            TimeSpan.FromMinutes(15),
            "--local", "--guest", Panicking, "--initial-break", "--no-panic-halt", "--wait", "600",
            "-c", "!ioout 3f8 script { .m = (.m << 8) | @al; if ((.m & 0xffffffffffffff) == 0x205d2d2d2d0d0a) { pause(); } }",
            "-c", "g",
            "-c", "r rip",
            "-c", "events c all",
            "-c", "g",
            "-c", "pause",
            "-c", "r rip");
        string all = output + error;

        // Assert: the event's halt, then a break-in: the panic halted nothing
        Assert.That(output, Does.Contain("event 0x0 triggered (pre)"), all);
        Assert.That(output, Does.Contain("break-in: all cores halted"), all);
        Assert.That(output, Does.Not.Contain("kernel panic:"), all);
        Assert.That(exit, Is.Zero, all);
    }
}
