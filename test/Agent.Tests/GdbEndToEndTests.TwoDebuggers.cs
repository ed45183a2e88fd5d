// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Agent.Tests;

/// <content>Debian's gdb and our own debugger (a separate <c>bin/hyperdbg</c> process on <c>tcp://</c>) attached to one
/// agent at the same time.</content>
public sealed partial class GdbEndToEndTests
{
    /// <summary>The instruction after <see cref="BreakAddress"/> (<c>lea rsi,[...]</c>).</summary>
    private const ulong NextAddress = 0x10001d;

    /// <summary>
    /// Our debugger sets <c>bp</c> at one instruction and waits; gdb sets a breakpoint at the next and continues. Our
    /// breakpoint halts the guest: gdb's <c>continue</c> ends there (SIGTRAP) and our debugger prints the hit. gdb
    /// continues: its breakpoint halts the guest, and our debugger prints that halt too, as set by another debugger.
    /// </summary>
    [Test]
    public void Gdb_AndOurDebuggerAttachedAtOnce_TheHaltsOfEachReachBoth()
    {
        // Arrange: one agent serving both protocols; our debugger sets its breakpoint at the initial break
        if (!File.Exists(Gdb))
        {
            Assert.Ignore("skipped: /usr/bin/gdb is not installed (./build.sh deps installs it)");
        }

        using AgentProcess agent = AgentProcess.Start("--guest", "demo", "--initial-break", "--listen", "gdb://127.0.0.1:0", "--listen", "tcp://127.0.0.1:0");
        int port = int.Parse(agent.Listen.Single(l => l.StartsWith("gdb://", StringComparison.Ordinal)).Split(':')[2], System.Globalization.CultureInfo.InvariantCulture);
        string tcp = agent.Listen.Single(l => l.StartsWith("tcp://", StringComparison.Ordinal));
        using DebuggerProcesses.DebuggerChild ours = DebuggerProcesses.StartDebugger("--connect", tcp, "-c", $"bp {BreakAddress:x}", "-c", "sleep 0n600000");
        ours.WaitForLine(l => l.EndsWith("> sleep 0n600000", StringComparison.Ordinal), TimeSpan.FromMinutes(1));

        // Act
        string output = RunGdb(port, [$"break *0x{NextAddress:x}", "continue", "info registers rip", "continue", "info registers rip", "detach"]);

        // Assert: gdb stopped at our breakpoint, then at its own
        Assert.That(output, Does.Contain($"received signal SIGTRAP, Trace/breakpoint trap.\r\n0x{BreakAddress:x16} in ?? ()"), output);
        Assert.That(output, Does.Match($@"rip\s+0x{BreakAddress:x}\s"), output);
        Assert.That(output, Does.Contain($"hit Breakpoint 1, 0x{NextAddress:x16}"), output);
        Assert.That(output, Does.Match($@"rip\s+0x{NextAddress:x}\s"), output);
        Assert.That(output, Does.Contain("detached"), output);

        // ... and our debugger printed both halts, each with its instruction
        ours.WaitForLine(l => l.StartsWith($"00000000`{NextAddress:x8} ", StringComparison.Ordinal), TimeSpan.FromMinutes(1));
        string printed = ours.Lines;
        Assert.That(printed, Does.Contain($"breakpoint 0x1 hit\n00000000`{BreakAddress:x8} "), printed);
        Assert.That(printed, Does.Contain($"breakpoint hit (set by another debugger, core 0)\n00000000`{NextAddress:x8} "), printed);
    }
}
