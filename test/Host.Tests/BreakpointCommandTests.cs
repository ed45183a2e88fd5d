// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <summary><c>bp</c>, <c>bl</c>, <c>t</c>, <c>bc</c> through bin/hyperdbg on the demo guest: the break before
/// demo!print_name's first instruction, and a step that moves RIP by exactly one instruction.</summary>
[Category("EndToEnd")]
public sealed class BreakpointCommandTests
{
    [Test]
    public void BreakpointAndStep_OnTheDemoGuest_HaltAtTheSymbolAndMoveOneInstruction()
    {
        // Act: each command waits for what it needs (the break, the step's halt), not for time
        (int exit, string output, string error) = HyperDbgProcess.Run(
            "--guest", "demo", "--initial-break",
            "-c", "bp demo!print_name",
            "-c", "g",
            "-c", "bl",
            "-c", "u demo!print_name l 2",
            "-c", "t",
            "-c", "r rip",
            "-c", "bc all",
            "-c", "bl",
            "-c", "bc 7");

        // Assert
        Assert.That(exit, Is.EqualTo(1), "the last command fails: " + output + error);
        Assert.That(output, Does.Contain($"breakpoint 0x1 hit\n{DemoSymbols.Shown("print_name")} "), "halted before print_name's first instruction");
        Assert.That(output, Does.Contain($"01   {DemoSymbols.Shown("print_name")}   enabled    1\n"));
        string second = output.Split("> u demo!print_name l 2\ndemo!print_name:\n")[1].Split('\n')[1];
        string nextAddress = second.Split(' ')[0].Replace("`", string.Empty, StringComparison.Ordinal);
        Assert.That(output, Does.Contain($"> t\n{second.Split(' ')[0]} "), "t shows the next instruction");
        Assert.That(output, Does.Contain($"rip={ulong.Parse(nextAddress, System.Globalization.NumberStyles.HexNumber):x16}"), "t moved RIP by one instruction");
        Assert.That(output, Does.Contain("no breakpoints are set"));
        Assert.That(output + error, Does.Contain("breakpoint 0x7 does not exist (see 'bl')."));
    }
}
