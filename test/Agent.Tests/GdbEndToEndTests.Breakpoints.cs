// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Agent.Tests;

/// <content>One breakpoint list: gdb's breakpoints in our <c>bl</c> (through <c>monitor</c>, qRcmd), refused by our
/// <c>bc</c>, left by <c>bc all</c>, and gone once gdb detaches.</content>
public sealed partial class GdbEndToEndTests
{
    [Test]
    public void Gdb_BreakpointsAreListedByBl_RefusedByBc_AndGoWithTheClient()
    {
        // Arrange
        (AgentProcess agent, int port) = StartAgent();
        using AgentProcess _ = agent;

        // Act: gdb inserts its breakpoint at once (always-inserted), then our bp, bl, bc 1, bc all, bl; detach; a second
        // gdb client's bl.
        string output = RunGdb(port,
        [
            "set breakpoint always-inserted on", $"break *0x{BreakAddress:x}", "monitor bp 100000", "monitor bl",
            "monitor bc 1", "monitor bc all", "monitor bl", "detach",
        ]);
        string after = RunGdb(port, ["monitor bl", "detach"]);

        // Assert
        string firstBl = output[output.IndexOf("id   address", StringComparison.Ordinal)..];
        Assert.That(firstBl, Does.Match($@"(?m)^01 +00000000`{BreakAddress:x8} +enabled +0 +gdb 1\r?$"), output);
        Assert.That(output, Does.Match(@"(?m)^02 +00000000`00100000 +enabled +0\r?$"), output);
        Assert.That(output, Does.Contain("breakpoint 0x1 belongs to the gdb client; remove it from gdb."), output);
        Assert.That(output, Does.Contain("kept the gdb client's breakpoint(s) 0x1: remove them from gdb."), output);
        string lastBl = output[output.LastIndexOf("id   address", StringComparison.Ordinal)..];
        Assert.That(lastBl, Does.Match(@"(?m)^01 +00000000`00100019 +enabled +0 +gdb 1\r?$").And.Not.Contain("00100000 "), "bc all cleared ours only: " + output);
        Assert.That(output, Does.Contain("detached"), output);
        Assert.That(after, Does.Contain("no breakpoints are set"), "gdb's went when it detached: " + after);
    }
}
