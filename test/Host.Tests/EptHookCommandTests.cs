// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text.RegularExpressions;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <summary><c>!epthook</c> and <c>!epthook2</c> through bin/hyperdbg and a real agent on the demo guest: a script hook
/// filtered by pid runs on each matching pass, a hook without a script halts before the instruction, both are listed
/// by <c>events</c> and cleared by <c>events c</c>.</summary>
[Category("EndToEnd")]
public sealed class EptHookCommandTests
{
    [Test]
    public void EptHooks_ScriptAndBreak_ListedAndCleared()
    {
        // Act: the logger (pid 2) passes print_name 7 times (6 letters and the NUL) before the scheduler's bump_counter
        (int exit, string output, string error) = HyperDbgProcess.Run(
            "--guest", "demo", "--initial-break",
            "-c", "!epthook demo!print_name pid 2 script { printf(\"hook pid=%x ctx=%llx\\n\", $pid, $context); }",
            "-c", "!epthook2 demo!bump_counter core 0",
            "-c", "g",
            "-c", "r rip",
            "-c", "events",
            "-c", "events c 1",
            "-c", "events",
            "-c", "!epthook demo!print_name stage post");

        // Assert
        Assert.That(exit, Is.EqualTo(1), "the stage post hook is refused: " + output + error);
        string[] contexts = [.. Regex.Matches(output, "hook pid=2 ctx=([0-9a-f]+)\n").Select(m => m.Groups[1].Value)];
        Assert.That(contexts, Has.Length.EqualTo(7), output);
        Assert.That(contexts.Distinct().Count(), Is.EqualTo(1), "every hit is at print_name: " + output);
        Assert.That(output, Does.Not.Contain("hook pid=1"));
        Assert.That(output, Does.Match(@"event 0x1 triggered \(pre, execute at 00000000`[0-9a-f]{8}\)\n"));
        Assert.That(output, Does.Contain("0\t(enabled)\t    !epthook demo!print_name pid 2 script"));
        Assert.That(output, Does.Contain("1\t(enabled)\t    !epthook2 demo!bump_counter core 0\n"));
        string afterClear = output.Split("> events c 1\n")[1];
        Assert.That(afterClear, Does.Not.Contain("!epthook2"));
        Assert.That(output + error, Does.Contain("!epthook: only stage pre is supported"));
    }
}
