// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <summary><c>!monitor</c> through bin/hyperdbg on the demo guest: a write to demo!current_pid halts before the store
/// with $context the written address; execution of demo!print_name halts before it; bad ranges are refused.</summary>
[Category("EndToEnd")]
public sealed class MonitorCommandTests
{
    [Test]
    public void MonitorWrite_OnTheDemoGuest_HaltsAtTheWriterWithTheAddressAsContext()
    {
        // Act
        (int exit, string output, string error) = HyperDbgProcess.Run(
            "--guest", "demo", "--initial-break",
            "-c", "!monitor w demo!current_pid demo!current_pid+7",
            "-c", "g",
            "-c", "g",
            "-c", "? printf(\"context=%llx rbx=%llx\\n\", $context, @rbx);",
            "-c", "x demo!current_pid",
            "-c", "events",
            "-c", "events c 0",
            "-c", "!monitor x demo!print_name l 1",
            "-c", "g",
            "-c", "r rip",
            "-c", "x demo!print_name");

        // Assert
        Assert.That(exit, Is.Zero, output + error);
        string pidAddress = Line(output, "> x demo!current_pid").Split(' ')[0];
        Assert.That(output, Does.Contain($"event 0x0 triggered (pre, write at {pidAddress})\n"), output);
        Assert.That(output, Does.Match(@"triggered \(pre, write at [0-9a-f`]+\)\n[0-9a-f`]+ [0-9a-f ]+ mov qword ptr \[[0-9a-f]+h\],0\n"), "the demo's initialisation");
        Assert.That(output, Does.Match(@"triggered \(pre, write at [0-9a-f`]+\)\n[0-9a-f`]+ [0-9a-f ]+ mov \[[0-9a-f]+h\],rbx\n"), "then run_process's store, RIP at it");
        Assert.That(output, Does.Contain($"context={pidAddress.Replace("`", string.Empty, StringComparison.Ordinal).TrimStart('0')} rbx=1\n"), "$context is the address; the store has not happened");
        Assert.That(output, Does.Contain("!monitor w demo!current_pid demo!current_pid+7"), "events lists it");
        string printName = Line(output, "> x demo!print_name").Split(' ')[0].Replace("`", string.Empty, StringComparison.Ordinal);
        Assert.That(output, Does.Contain("event 0x1 triggered (pre, execute at "), output);
        Assert.That(output, Does.Contain($"rip={ulong.Parse(printName, System.Globalization.NumberStyles.HexNumber):x16}"), "halted before print_name executes");
    }

    [TestCase("!monitor w 2000 1000", "!monitor: the range is reversed: 2000 is above 1000.")]
    [TestCase("!monitor rw 1000 l 2000000", "!monitor: length 2000000 is invalid: 1 to 1000000 bytes.")]
    [TestCase("!monitor 1000 2000", "!monitor: the attributes are missing")]
    [TestCase("!monitor w 1000 2000 stage post", "!monitor: only stage pre is supported")]
    [TestCase("!monitor w 1000 2000 sc on", "!monitor: sc on is not supported")]
    [TestCase("!monitor pa w 1000 l 10", "!monitor: physical ranges (pa) are not supported")]
    [TestCase("!monitor r 7fff00000000 l 10", "0x7fff00000000 does not map to guest memory on core 0")]
    [TestCase("!monitor w 1000", "!monitor: give FromAddress and either ToAddress or l Length")]
    public void Monitor_BadInput_IsRefusedWithTheReasonAndRegistersNothing(string command, string message)
    {
        (int exit, string output, string error) = HyperDbgProcess.Run("--guest", "demo", "--initial-break", "-c", command);

        Assert.That(exit, Is.EqualTo(1), output + error);
        Assert.That(output + error, Does.Contain(message));
        Assert.That(output, Does.Not.Contain("registered"), "nothing was registered");
    }

    private static string Line(string output, string command) => output.Split(command + "\n")[1].Split('\n')[0];
}
