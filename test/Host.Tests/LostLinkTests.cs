// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <content>
/// Lost links, with real processes: a debugger killed while the guest prints (the next one gets what the dead one
/// never confirmed), and a serial line frozen or cut long enough for both ends to give the link up (the debugger
/// re-establishes it by itself, says so, and gets what was kept for it). Every numbered line arrives.
/// </content>
public sealed partial class RemoteSessionTests
{
    private static readonly TimeSpan s_hostLimit = TimeSpan.FromMinutes(3);

    [TestCase("tcp")]
    [TestCase("pipe")]
    [TestCase("grpc")]
    [TestCase("serial")]
    public void HostKilledWhileTheGuestPrints_TheNextHostGetsEveryLineTheDeadOneDidNotConfirm(string kind)
    {
        // Arrange
        using SocatPtyPair? ptys = kind == "serial" ? SocatPtyPair.Start() : null;
        string listen = kind switch
        {
            "tcp" => $"tcp://127.0.0.1:{FreePort()}",
            "pipe" => "pipe:" + Path.Combine(Path.GetTempPath(), $"hdr-{Guid.NewGuid():N}.sock"),
            "grpc" => $"grpc://127.0.0.1:{FreePort()}",
            _ => $"serial:{ptys!.First}?baud=115200",
        };
        string connect = kind switch
        {
            "serial" => $"serial:{ptys!.Second}?baud=115200",
            "pipe" => listen,
            _ => listen,
        };
        using Process agent = StartAgent(listen, "--initial-break");
        try
        {
            // Act: the first debugger sets the event, lets the guest print, and is killed while lines flow
            using (HostProcess first = HostProcess.Start("--connect", connect, "-c", NumberedLines, "-c", "g", "-c", "sleep 0n60000"))
            {
                first.WaitForLine("line 5");
                first.Kill();
                int[] before = Numbers(first.Output);
                Assert.That(before, Is.EqualTo(Enumerable.Range(1, before.Length)), "the first debugger's lines");

                // The next debugger breaks in and reads the total
                (int exit, string output) = RunHostWith(["--connect", connect], "sleep 0n500", "pause", "? printf(\"total %d\\n\", .n);");
                Assert.That(exit, Is.Zero, output);
                int total = int.Parse(Regex.Match(output, @"total (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
                int[] after = Numbers(output);

                // Assert: no gap between what the first printed and what the second got; the second's lines are in order
                Assert.That(after, Is.Not.Empty);
                Assert.That(after, Is.EqualTo(Enumerable.Range(after[0], after.Length)), "the second debugger's lines, in order");
                Assert.That(after[0], Is.LessThanOrEqualTo(before[^1] + 1), "nothing lost between the two debuggers");
                Assert.That(after[^1], Is.EqualTo(total), "up to the break");
            }
        }
        finally
        {
            Kill(agent);
        }
    }

    [TestCase("freeze")]
    [TestCase("cut")]
    public void Serial_LineFrozenOrCutBeyondTheDeadPeerTimeout_HostReconnectsByItselfAndGetsEveryLine(string fault)
    {
        // Arrange: agent and debugger on two pty pairs joined by the relay
        using SocatPtyPair agentLine = SocatPtyPair.Start();
        using SocatPtyPair hostLine = SocatPtyPair.Start();
        using FaultRelayProcess relay = FaultRelayProcess.Start(Root(), agentLine.Second, hostLine.Second);
        using Process agent = StartAgent($"serial:{agentLine.First}?baud=115200", "--initial-break");
        try
        {
            using HostProcess host = HostProcess.Start(
                "--connect", $"serial:{hostLine.First}?baud=115200",
                "-c", NumberedLines, "-c", "g", "-c", "sleep 0n6000", "-c", "pause", "-c", "? printf(\"total %d\\n\", .n);");
            host.WaitForLine("line 5");

            // Act: the line stops until the debugger has noticed, then comes back
            relay.Command(fault);
            host.WaitForLine("connection to the agent lost");
            relay.Command(fault == "freeze" ? "thaw" : "plug");
            host.WaitForLine("reconnected after");
            host.WaitForExit(s_hostLimit);

            // Assert
            string output = host.Output;
            Assert.That(host.ExitCode, Is.Zero, output);
            int total = int.Parse(Regex.Match(output, @"total (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.That(Numbers(output), Is.EqualTo(Enumerable.Range(1, total)), "every line once, in order, across the reconnection");
        }
        finally
        {
            Kill(agent);
        }
    }

    private static int[] Numbers(string output) =>
        [.. Regex.Matches(output, @"^line (\d+)$", RegexOptions.Multiline).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))];
}
