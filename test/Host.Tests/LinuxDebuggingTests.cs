// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text.RegularExpressions;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <summary>
/// The debugger on Debian's own kernel, as docs/vmx-driver.md "Debugging the Linux guest" shows it: the real
/// <c>bin/hyperdbg --local --guest linux --initial-break</c> with <c>-c</c> commands prints the kernel's console through
/// a script, breaks inside the kernel's serial output routine, looks at it with kernel symbols, and continues until the
/// guest stops. Every step waits for the one before it (scripted commands wait for the halt), nothing for a time.
/// </summary>
[Category("EndToEnd")]
public sealed class LinuxDebuggingTests
{
    /// <summary>README's COM1 example: OUT (byte in AL) and REP OUTSB (byte at RSI) alike.</summary>
    private const string ConsoleScript =
        "!ioout 3f8 script { op = db(@rip); if (op == 0xf3) { op = db(@rip + 1); } if (op == 0x6e) { printf(\"%c\", db(@rsi)); } else { printf(\"%c\", @al); } }";

    /// <summary>Halts at the 2000th byte written to COM1's data port (early in the boot log, in the early console).</summary>
    private const string BreakScript = "!ioout 3f8 script { .n = .n + 1; if (.n == 0n2000) { pause(); } }";

    /// <summary>
    /// Halts when the console has printed "n /init " (the last eight bytes, one per OUT, kept in <c>.m</c>): the line
    /// <c>Run /init as init process</c>, the last the kernel prints before it enters user mode.
    /// </summary>
    private const string RunInitScript = "!ioout 3f8 script { .m = (.m << 8) | @al; if (.m == 0x6e202f696e697420) { pause(); } }";

    [Test]
    public void LinuxGuest_ConsoleThroughScript_BreakInSerialOutput_RegistersCodeSymbolsStack_ThenRunsToTheStop()
    {
        // Arrange
        string root = ConformanceRoot.SolutionDirectory() ?? throw new AssertionException("HyperDbgRemote.sln not found");
        string dir = Path.Combine(root, ".cache", "linux");
        string map = Path.Combine(dir, "System.map");
        if (!File.Exists(map) || !File.Exists(Path.Combine(dir, "vmlinuz")) || !File.Exists(Path.Combine(dir, "initramfs.cpio.gz")))
        {
            Assert.Ignore("skipped: the Linux guest files are missing (run ./build.sh deps)");
        }

        string startKernel = File.ReadLines(map).Select(l => l.Split(' ')).First(f => f.Length == 3 && f[2] == "start_kernel")[0];

        // Act: a command that needs a halted guest waits for the next halt, up to --wait (600 s: however slow the
        // machine); the process limit below only catches a hang.
        (int exit, string output, string error) = HyperDbgProcess.Run(
            TimeSpan.FromMinutes(15),
            "--local", "--guest", "linux", "--initial-break", "--wait", "600",
            "-c", ConsoleScript,
            "-c", BreakScript,
            "-c", "g",
            "-c", "r",
            "-c", "u",
            "-c", "ln @rip",
            "-c", "dq @rsp l 2",
            "-c", "k",
            "-c", "? printf(\"start_kernel=%llx\\n\", linux!start_kernel);",
            "-c", "events c all",
            "-c", RunInitScript,
            "-c", "g",
            "-c", "r rip",
            "-c", "ln @rip",
            "-c", "events",
            "-c", ".status");
        string all = output + error;

        // Assert: the console text, printed by the script before the break
        int halt = output.IndexOf("event 0x1 triggered (pre)", StringComparison.Ordinal);
        Assert.That(halt, Is.GreaterThan(0), all);
        Assert.That(output[..halt], Does.Contain("Linux version 6."), "the kernel's banner came through the script");
        Assert.That(output[..halt], Does.Contain("Command line: console=ttyS0"));

        // the break: an OUT to 0x3f8 in the kernel's serial output routine, at a kernel virtual address
        Assert.That(output, Does.Match(@"ffffffff`[0-9a-f]{8} ee +out dx,al"));
        Assert.That(output, Does.Match(@"RDX=00000000000003f8 "));
        Assert.That(output, Does.Match(@"RIP=ffffffff[0-9a-f]{8} RSP=ffffffff[0-9a-f]{8} "));
        Assert.That(output, Does.Match(@"> u\nlinux!io_serial_out\+0x[0-9a-f]+:\nffffffff`[0-9a-f]{8} ee +out dx,al\n"), "u labels the kernel symbol");
        Assert.That(output, Does.Match(@"> ln @rip\n\(ffffffff`[0-9a-f]{8}\)   linux!io_serial_out\+0x[0-9a-f]+   \|  \(ffffffff`[0-9a-f]{8}\)   linux!\w+\n"));
        Assert.That(output, Does.Match(@"> dq @rsp l 2\nffffffff`[0-9a-f]{8}  ffffffff[0-9a-f]{8} [0-9a-f]{16} \n"), "the stack, a kernel address, holds a return address into the kernel");
        Assert.That(output, Does.Contain($"start_kernel={startKernel.TrimStart('0')}\n"));
        // k: Debian's kernel keeps no usable frame-pointer chain here; the scan finds the early console's callers up
        // to start_kernel.
        string k = output.Split("> k\n")[1].Split("> ? printf")[0];
        Assert.That(k, Does.Contain("scanning the stack for return addresses (best effort)"));
        Assert.That(k, Does.Match(@"\n\[\$\+000\]   ffffffff[0-9a-f]{8}    \(from linux!early_serial_write\+0x[0-9a-f]+ <ffffffff[0-9a-f]{8}>\)\n"));
        Assert.That(k, Does.Match(@"\(from linux!_printk\+0x[0-9a-f]+ <"));
        Assert.That(k, Does.Match(@"\(from linux!start_kernel\+0x[0-9a-f]+ <"));

        // after events c all, a new event and g: the rest of the boot, silent (the console event is gone), to the
        // kernel's last line before user mode; the session ends there with the guest halted
        int second = output.IndexOf(" triggered (pre)", halt + 20, StringComparison.Ordinal);
        Assert.That(second, Is.GreaterThan(halt), all);
        Assert.That(output[halt..second], Does.Not.Contain("Run /init"), "the console script was cleared");
        Assert.That(Regex.Count(output, "Linux version"), Is.EqualTo(1));
        Assert.That(output[second..], Does.Match(@"^ triggered \(pre\)\nffffffff`[0-9a-f]{8} ee +out dx,al\n"));
        Assert.That(output[second..], Does.Match(@"\nrip=ffffffff[0-9a-f]{8}\n"));

        // the 8250 driver's own static io_serial_out, not the early console's function of the same name
        Assert.That(output[second..], Does.Match(@"> ln @rip\n\(ffffffff`[0-9a-f]{8}\)   linux!io_serial_out\+0x[0-9a-f]+   \|  \(ffffffff`[0-9a-f]{8}\)   linux!\w+\n"));
        Assert.That(output[second..], Does.Not.Contain("mem16_serial_in"));
        Assert.That(output[second..], Does.Match(@"\(enabled\)\t +!ioout 3f8 script"), "events lists the one event left");
        Assert.That(all, Does.Not.Contain("the guest stopped"));
        Assert.That(exit, Is.Zero, all);
    }
}
