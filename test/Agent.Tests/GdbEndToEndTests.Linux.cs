// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Agent.Tests;

/// <content>Debian's gdb on Debian's own kernel (the <c>linux</c> guest), with addresses from its System.map.</content>
public sealed partial class GdbEndToEndTests
{
    /// <summary>
    /// gdb attaches at the initial break (the kernel's 64-bit entry), stops at <c>start_kernel</c>, steps one instruction,
    /// asks our debugger (monitor) what the address is, stops in the serial console's write routine (its first call, from
    /// <c>console_init</c>) and reads the call stack there, then detaches and the kernel boots on.
    /// </summary>
    [Test]
    [Category("EndToEnd")]
    public void Gdb_OnTheLinuxGuest_BreakpointsAtSystemMapAddresses_StepiMonitorLnAndK()
    {
        // Arrange
        string dir = Path.Combine(AgentProcess.RepositoryRoot(), ".cache", "linux");
        string map = Path.Combine(dir, "System.map");
        if (!File.Exists(map) || !File.Exists(Path.Combine(dir, "vmlinuz")) || !File.Exists(Path.Combine(dir, "initramfs.cpio.gz")))
        {
            Assert.Ignore("skipped: the Linux guest files are missing (run ./build.sh deps)");
        }

        Dictionary<string, ulong> symbols = File.ReadLines(map).Select(l => l.Split(' ')).Where(f => f.Length == 3)
            .GroupBy(f => f[2]).Where(g => g.Count() == 1)
            .ToDictionary(g => g.Key, g => ulong.Parse(g.First()[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        ulong startKernel = symbols["start_kernel"];
        ulong consoleWrite = symbols["serial8250_console_write"];
        if (!File.Exists(Gdb))
        {
            Assert.Ignore("skipped: /usr/bin/gdb is not installed (./build.sh deps installs it)");
        }

        using AgentProcess agent = AgentProcess.Start("--guest", "linux", "--initial-break", "--listen", "gdb://127.0.0.1:0");
        int port = int.Parse(agent.Listen.Single(l => l.StartsWith("gdb://", StringComparison.Ordinal)).Split(':')[2], CultureInfo.InvariantCulture);

        // Act
        string output = RunGdb(port,
        [
            $"break *0x{startKernel:x}", "continue", "info registers rip", "stepi", "info registers rip", "monitor ln @rip",
            "delete 1", $"break *0x{consoleWrite:x}", "continue", "info registers rip", "monitor k", "delete 2", "detach",
        ], architecture: null);

        // Assert: the stop at start_kernel, exact
        Assert.That(output, Does.Contain($"Breakpoint 1, 0x{startKernel:x16} in ?? ()"), output);
        Assert.That(output, Does.Match($@"rip\s+0x{startKernel:x}\s"), output);

        // one instruction on (a kernel address other than start_kernel's), which our ln names from System.map
        System.Text.RegularExpressions.Match stepped = System.Text.RegularExpressions.Regex.Matches(output, @"rip\s+0x(ffffffff[0-9a-f]{8})\s")[1];
        ulong afterStep = ulong.Parse(stepped.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        Assert.That(afterStep, Is.Not.EqualTo(startKernel), output);
        string nearest = symbols.Where(s => s.Value <= afterStep).MaxBy(s => s.Value).Key;
        Assert.That(output, Does.Contain($"({afterStep >> 32:x8}`{afterStep & 0xFFFFFFFF:x8})   linux!{nearest}"), "monitor ln: " + output);

        // the serial console's write routine, with a call stack of kernel symbols
        Assert.That(output, Does.Contain($"Breakpoint 2, 0x{consoleWrite:x16} in ?? ()"), output);
        Assert.That(output, Does.Match($@"rip\s+0x{consoleWrite:x}\s"), output);
        Assert.That(output, Does.Contain("(from linux!console_unlock+0x").And.Contain("(from linux!vprintk_emit+0x").And.Contain("(from linux!start_kernel+0x"),
            "monitor k: the callers through printk up to start_kernel: " + output);
        Assert.That(output, Does.Contain("detached"), output);
    }
}
