// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text.RegularExpressions;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <summary>
/// Stepping over an I/O instruction whose event is set, through bin/hyperdbg and its agent: the step executes exactly
/// the OUT, the event fires once (as on hardware), and a halt the event takes in the middle of a step is left by
/// <c>t</c> exactly after the OUT, its post stage firing once.
/// </summary>
[Category("EndToEnd")]
public sealed class IoStepTests
{
    /// <summary>At 0x100000 a loop to break into; the code from 0x100002: mov al,1; out 80h,al (0x100004); nop; nop;
    /// mov al,2; out 81h,al (0x10000a); nop (0x10000c); hlt.</summary>
    private static readonly byte[] s_image = [0xEB, 0xFE, 0xB0, 0x01, 0xE6, 0x80, 0x90, 0x90, 0xB0, 0x02, 0xE6, 0x81, 0x90, 0xF4];

    /// <summary>The lines 'r rip' printed, in order.</summary>
    private static string[] Rips(string output) => [.. output.Split('\n').Where(l => l.StartsWith("rip=", StringComparison.Ordinal))];

    private static (int Exit, string Output, string Error) Run(params string[] commands)
    {
        string image = Path.Combine(Path.GetTempPath(), $"hdr-iostep-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(image, s_image);
        try
        {
            List<string> args = ["--local", "--guest", $"flat64:{image}@100000", "-c", "pause"];
            foreach (string c in commands)
            {
                args.Add("-c");
                args.Add(c);
            }

            return HyperDbgProcess.Run(TimeSpan.FromSeconds(120), [.. args]);
        }
        finally
        {
            File.Delete(image);
        }
    }

    [Test]
    public void StepOverAnOutWhoseEventIsSet_ExecutesTheOutOnly_TheEventFiresOnce()
    {
        (int exit, string output, string error) = Run(
            "r rip = 100002",
            "!ioout 80 script { printf(\"fired al=%x\\n\", @al); }",
            "t",
            "t",
            "r rip",
            "t",
            "r rip",
            "events c all");

        Assert.That(exit, Is.Zero, output + error);
        Assert.That(Regex.Matches(output, "fired al=1\n"), Has.Count.EqualTo(1), output);
        string[] rips = Rips(output);
        Assert.That(rips, Is.EqualTo(new[] { "rip=0000000000100006", "rip=0000000000100007" }), "one instruction per step, the OUT included");
    }

    /// <summary>
    /// The demo guest (the real debugger with its agent) halts on an <c>!ioout 80</c> event while it runs (<c>g</c>), at
    /// banner_done's <c>out 80h,al</c> (after <c>mov al,10h</c>): <c>t</c> executes exactly that OUT, as it does on
    /// hardware from a VM exit's halt, and ends at the next instruction (<c>lea rsi,[banner]</c>); the post stage fires
    /// once, the event's pre stage does not fire again, and RIP cannot be moved at that halt.
    /// </summary>
    [Test]
    public void DemoGuest_EventHaltDuringG_TExecutesExactlyTheOut_AndEndsAtTheNextInstruction()
    {
        ulong outAt = DemoSymbols.Address("banner_done") + 2;
        string Step(ulong a) => $"{a >> 32:x8}`{a & 0xFFFFFFFF:x8} ";

        (int exit, string output, string error) = HyperDbgProcess.Run(
            TimeSpan.FromSeconds(120),
            "--guest", "demo", "--initial-break",
            "-c", "!ioout 80",
            "-c", "!ioout 80 stage post script { printf(\"post al=%x\\n\", @al); }",
            "-c", "g",
            "-c", "r rip",
            "-c", "t",
            "-c", "r rip",
            "-c", "r rip = 100000");

        Assert.That(exit, Is.EqualTo(1), "the last command is refused: " + output + error);
        Assert.That(Regex.Matches(output, @"event 0x0 triggered \(pre\)\n"), Has.Count.EqualTo(1), output);
        Assert.That(output, Does.Contain($"event 0x0 triggered (pre)\n{Step(outAt)}e6 80"), output);
        Assert.That(Regex.Matches(output, "post al=10\n"), Has.Count.EqualTo(1), "the OUT ran once: " + output);
        string[] rips = Rips(output);
        Assert.That(rips, Is.EqualTo(new[] { $"rip={outAt:x16}", $"rip={outAt + 2:x16}" }), "the halt at the OUT; 't' ends right after it: " + output);
        Assert.That(output.Split("> t\n")[1], Does.Contain(Step(outAt + 2)), "the step shows the next instruction");
        Assert.That(output + error, Does.Contain("RIP cannot be moved here"));
    }

    [Test]
    public void BreakingEventHaltsTheStepAtTheOut_TStepsExactlyTheOut_PostStageFiresOnce()
    {
        (int exit, string output, string error) = Run(
            "r rip = 100008",
            "!ioout 81",
            "!ioout 81 stage post script { printf(\"post al=%x\\n\", @al); }",
            "t",
            "t",
            "r rip",
            "t",
            "r rip",
            "events c all");

        Assert.That(exit, Is.Zero, output + error);
        Assert.That(Regex.Matches(output, @"event 0x0 triggered \(pre\)\n00000000`0010000a e6 81"), Has.Count.EqualTo(1), output);
        Assert.That(Regex.Matches(output, "post al=2\n"), Has.Count.EqualTo(1), "the OUT ran once");
        string[] rips = Rips(output);
        Assert.That(rips, Is.EqualTo(new[] { "rip=000000000010000a", "rip=000000000010000c" }), "the pre-stage halt is at the OUT; 't' from it ends right after it");
    }
}
