// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using System.Text.RegularExpressions;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <content>
/// The serial link through a bad line, with real processes: the agent on one socat pty pair, the debugger on another,
/// and the fault relay process between their far ends flipping bits, dropping, duplicating and inserting bytes and
/// stalling. Every line the guest's event script prints must reach the debugger exactly once and in order.
/// </content>
public sealed partial class RemoteSessionTests
{
    /// <summary>The event numbers the lines it prints: one line per newline the guest writes to COM1.</summary>
    private const string NumberedLines = "!ioout 3f8 script { if (@al == 0xa) { .n = .n + 1; printf(\"line %d\\n\", .n); } }";

    private static IEnumerable<TestCaseData> Lines()
    {
        yield return new TestCaseData((object)new[] { "--ber", "1e-3" }).SetArgDisplayNames("BER 1e-3");
        yield return new TestCaseData((object)new[] { "--ber", "1e-3", "--drop", "1e-4", "--dup", "0.01", "--garbage", "0.01", "--stall", "0.005", "--seed", "7" }).SetArgDisplayNames("BER 1e-3, drops, duplicates, garbage, stalls");
    }

    [TestCaseSource(nameof(Lines))]
    public void Serial_FaultyRelay_EveryLineArrivesOnceInOrder(string[] faults)
    {
        // Arrange
        using SocatPtyPair agentLine = SocatPtyPair.Start();
        using SocatPtyPair hostLine = SocatPtyPair.Start();
        using FaultRelayProcess relay = FaultRelayProcess.Start(Root(), agentLine.Second, hostLine.Second, faults);
        using Process agent = StartAgent($"serial:{agentLine.First}?baud=115200", "--initial-break");
        try
        {
            // Act: the guest prints for a few seconds, then the debugger breaks in and asks how many lines there were
            (int exit, string output) = RunHost(
                $".debug remote serial 115200 {hostLine.First}",
                NumberedLines,
                "g",
                "sleep 0n4000",
                "pause",
                "? printf(\"total %d\\n\", .n);");

            // Assert
            string statistics = relay.Statistics();
            TestContext.Out.WriteLine(statistics);
            Assert.That(exit, Is.Zero, output);
            AssertNumberedLines(output);
            Assert.That(statistics, Does.Not.Contain("\"bitsFlipped\":0,"), "the relay flipped bits both ways");
        }
        finally
        {
            Kill(agent);
        }
    }

    /// <summary>"line 1" .. "line N" each once and in order, and the total the debugger read at the break is N.</summary>
    private static int AssertNumberedLines(string output)
    {
        int[] numbers = [.. Regex.Matches(output, @"^line (\d+)$", RegexOptions.Multiline).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))];
        Match total = Regex.Match(output, @"total (\d+)");
        Assert.That(total.Success, Is.True, output);
        int n = int.Parse(total.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(n, Is.GreaterThan(20), "the guest printed lines while the line was bad");
        Assert.That(numbers, Is.EqualTo(Enumerable.Range(1, n)), "every line once, in order, none lost");
        return n;
    }
}
