// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text.Json;

namespace HyperDbgRemote.Host.Tests;

[Category("EndToEnd")]
public sealed class HostProcessTests
{
    private static string Image()
    {
        // loop: mov al, 5ah; out 80h, al; inc bl; jmp loop
        string path = Path.Combine(Path.GetTempPath(), $"hdr-host-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(path, [0xB0, 0x5A, 0xE6, 0x80, 0xFE, 0xC3, 0xEB, 0xF8]);
        return path;
    }

    private static (int Exit, string Out, string Err) Run(params string[] args) => HyperDbgProcess.Run(args);

    [Test]
    public void ACommandWaitingForAHalt_WhenTheGuestStopsInstead_FailsAtOnce()
    {
        // Arrange: a guest that counts down from 2^32 (seconds), then stops (CLI; HLT: every core halted with
        // interrupts off); the debugger's halt wait is ten minutes
        string path = Path.Combine(Path.GetTempPath(), $"hdr-stop-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(path, [0x48, 0xB9, 0, 0, 0, 0, 1, 0, 0, 0, 0x48, 0xFF, 0xC9, 0x75, 0xFB, 0xFA, 0xF4]);

        // Act: 'r' waits for the guest to halt, which it never does (the test's limit is five minutes)
        (int exit, string output, string error) = HyperDbgProcess.Run(TimeSpan.FromMinutes(5), "--guest", $"flat64:{path}@100000", "--wait", "600", "-c", "r");
        File.Delete(path);

        // Assert
        Assert.That(exit, Is.EqualTo(1), output + error);
        Assert.That(output + error, Does.Contain("the guest stopped").And.Contain("instead of halting"));
    }

    [Test]
    public void Commands_BreakReadChangeContinue_Succeed()
    {
        string image = Image();
        (int exit, string output, string error) = Run("--guest", $"flat64:{image}@100000", "-c", "!ioout 80", "-c", "r", "-c", "r al = 42", "-c", "r al", "-c", "r rbx = @rax * 2 + dq(0x100000) - dq(0x100000)", "-c", "r rbx", "-c", "u l 2", "-c", "events c all", "-c", "g");
        File.Delete(image);

        Assert.That(exit, Is.Zero, output + error);
        Assert.That(output, Does.Contain("event 0x0 triggered (pre)").And.Contain("00000000`00100002 e6 80").And.Contain("RIP=0000000000100002"));
        Assert.That(output, Does.Contain("al=0000000000000042"));
        Assert.That(output, Does.Contain("rbx=0000000000000084"), "r REG = EXPRESSION is evaluated by the script engine");
        Assert.That(output, Does.Contain("0: kHyperDbg> u l 2"));
    }

    [Test]
    public void Commands_FirstFailure_ExitsOneAndStops()
    {
        string image = Image();
        (int exit, string output, string error) = Run("--guest", $"flat64:{image}@100000", "-c", "!ioout 10000", "-c", "help");
        File.Delete(image);

        Assert.That(exit, Is.EqualTo(1));
        Assert.That(error, Does.Contain("err, !ioout: port '10000' is invalid"));
        Assert.That(output, Does.Not.Contain("list the commands"), "the commands after the failure did not run");
    }

    [Test]
    public void Json_EveryResultAndNotificationIsAnObject()
    {
        string image = Image();
        (int exit, string output, _) = Run("--json", "--guest", $"flat64:{image}@100000", "-c", "!ioout 80", "-c", "r rax", "-c", "bogus");
        File.Delete(image);

        Assert.That(exit, Is.EqualTo(1));
        List<JsonDocument> docs = [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l))];
        Assert.That(docs.Any(d => d.RootElement.TryGetProperty("notification", out JsonElement n) && n.TryGetProperty("halted", out _)), Is.True, output);
        JsonElement r = docs.Single(d => d.RootElement.TryGetProperty("command", out JsonElement c) && c.GetString() == "r rax").RootElement;
        Assert.That(r.GetProperty("ok").GetBoolean(), Is.True);
        Assert.That(r.GetProperty("output").GetString(), Is.EqualTo("rax=000000000000005a\n"));
        JsonElement bad = docs.Single(d => d.RootElement.TryGetProperty("command", out JsonElement c) && c.GetString() == "bogus").RootElement;
        Assert.That(bad.GetProperty("error").GetString(), Does.Contain("unknown command 'bogus'"));
    }
}
