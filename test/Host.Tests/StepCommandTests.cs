// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <summary><c>p</c>, <c>gu</c> and <c>i</c> with counts through bin/hyperdbg on the demo guest, whose run_process
/// has a REP OUTSB and a call to print_hex16 right after demo!name_done.</summary>
[Category("EndToEnd")]
public sealed class StepCommandTests
{
    [Test]
    public void StepOverGoUpAndInstrumentationStep_OnTheDemoGuest_LandWhereTheDisassemblySays()
    {
        // Act: each command waits for the halts it causes, not for time
        (int exit, string output, string error) = HyperDbgProcess.Run(
            "--guest", "demo", "--initial-break",
            "-c", "bp demo!name_done",
            "-c", "g",
            "-c", "u demo!name_done l 7",
            "-c", "p 3",
            "-c", "r rip",
            "-c", "p 2",
            "-c", "p",
            "-c", "r rip",
            "-c", "bc all",
            "-c", "bp demo!print_hex16",
            "-c", "g",
            "-c", "gu",
            "-c", "r rip",
            "-c", "i 2",
            "-c", "r rip",
            "-c", "p 0");

        // Assert: name_done: lea; mov rcx; rep outsb; inc; mov rax; call print_hex16; mov al,0Dh; out dx,al; mov al,0Ah
        Assert.That(exit, Is.EqualTo(1), "the last command fails: " + output + error);
        string[] u = output.Split("\ndemo!name_done:\n")[1].Split('\n');
        ulong[] at = [.. u.Take(7).Select(l => ulong.Parse(l.Split(' ')[0].Replace("`", string.Empty, StringComparison.Ordinal), NumberStyles.HexNumber))];
        Assert.That(u[2], Does.Contain("rep outsb"));
        Assert.That(u[5], Does.Contain("call"));
        string Rip(ulong a) => $"rip={a:x16}";
        string StepLine(ulong a) => $"{a >> 32:x8}`{a & 0xFFFFFFFF:x8} ";
        string afterP3 = output.Split("> p 3\n")[1].Split("> r rip\n")[0];
        Assert.That(afterP3, Does.StartWith(StepLine(at[1])).And.Contain("\n" + StepLine(at[2])).And.Contain("\n" + StepLine(at[3])), "p shows each step; the REP OUTSB is one");
        Assert.That(output.Split("> p 3\n")[1], Does.Contain(Rip(at[3])));
        Assert.That(output.Split("> p\n")[1], Does.StartWith(StepLine(at[6])).And.Contain(Rip(at[6])), "p over the call lands after it");
        // After 'g' the prompt is printed before the break: the break's line, then gu's one line, then 'r rip'.
        string[] gu = output.Split("breakpoint 0x2 hit\n")[1].Split("> r rip\n");
        Assert.That(gu[1], Does.StartWith(Rip(at[6])), "gu from print_hex16's first instruction returns after the call");
        Assert.That(gu[0].Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(3), "the break, gu's last halt only, the prompt");
        Assert.That(output.Split("> i 2\n")[1].Split("> r rip\n")[1], Does.StartWith(Rip(at[6] + 3)), "i 2: mov al,0Dh (2 bytes) and out dx,al (1 byte)");
        Assert.That(output + error, Does.Contain("the count must be at least 1."));
    }
}
