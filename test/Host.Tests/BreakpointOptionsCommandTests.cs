// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text.RegularExpressions;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <summary><c>bp ... pid P script {...}</c> and <c>bl</c> through bin/hyperdbg and a real agent on the demo guest: the
/// script runs on each matching pass (the shell's passes do not count), <c>pause()</c> halts, <c>bl</c> shows the
/// options, and a core the guest does not have is refused with nothing set.</summary>
[Category("EndToEnd")]
public sealed class BreakpointOptionsCommandTests
{
    [Test]
    public void FilteredBreakpointWithScript_RunsOnMatchingPasses_PauseHalts_BlShowsTheOptions()
    {
        // Act: the logger (pid 2) passes print_name once per character of its name, in its user page at 0x40001000; the
        // script halts at its third
        (int exit, string output, string error) = HyperDbgProcess.Run(
            "--guest", "demo", "--initial-break",
            "-c", "bp demo!print_name pid 2 script { printf(\"pid=%x ctx=%llx id=%x\\n\", $pid, $context, $event_id); if (@rsi == 0x40001002) { pause(); } }",
            "-c", "g",
            "-c", "bl",
            "-c", "bp demo!bump_counter core 5");

        // Assert
        Assert.That(exit, Is.EqualTo(1), "the core 5 breakpoint fails: " + output + error);
        string[] contexts = [.. Regex.Matches(output, "pid=2 ctx=([0-9a-f]+) id=0\n").Select(m => m.Groups[1].Value)];
        Assert.That(contexts, Has.Length.EqualTo(3), output);
        string printName = contexts[0].PadLeft(8, '0');
        Assert.That(contexts.Distinct().Count(), Is.EqualTo(1), output);
        Assert.That(output, Does.Not.Contain("pid=1"), "the shell's passes are filtered out");
        Assert.That(output, Does.Contain($"breakpoint 0x1 hit\n00000000`{printName} "));
        Assert.That(output, Does.Contain("01   00000000`" + printName + "   enabled    3      pid 2 script { printf(\"pid=%x ctx=%llx id=%x\\n\", $pid, $context, $event_id); if (@rsi == 0x40001002) { pause(); } }\n"));
        Assert.That(output + error, Does.Contain("core 5 does not exist"));
    }
}
