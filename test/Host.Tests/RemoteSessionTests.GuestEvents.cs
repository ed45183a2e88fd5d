// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;

namespace HyperDbgRemote.Host.Tests;

/// <content><c>!cpuid</c>, <c>!syscall</c> and <c>!exception</c> between two processes: bin/hyperdbg connected over
/// loopback TCP to a bin/hyperdbg-agent running a flat64 guest.</content>
public sealed partial class RemoteSessionTests
{
    [Test]
    public void GuestEvents_OverTcp_RegisteredByTheHost_HaltsNameTheEvent_ScriptsRunInTheAgent()
    {
        // Arrange: the image of GuestEventCommandTests (CPUID 40000000h, SYSCALL with RAX 3ch, INT3 with no IDT).
        string image = Path.Combine(Path.GetTempPath(), $"hdr-guestevents-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(image, GuestEventCommandTests.ImageBytes());
        int port = FreePort();
        Process agent = Start("dotnet", [Dll("Debuggee.Agent", "HyperDbgRemote.Agent.dll"), "--guest", $"flat64:{image}@100000", "--listen", $"tcp://127.0.0.1:{port}", "--initial-break"]);
        try
        {
            Task<string?> ready = agent.StandardOutput.ReadLineAsync();
            Assert.That(ready.Wait(TimeSpan.FromSeconds(30)) && ready.Result?.Contains("\"ready\":true", StringComparison.Ordinal) == true, Is.True, "the agent got ready");

            // Act
            (int exit, string output) = RunHost(
                $".connect tcp://127.0.0.1:{port}",
                "!cpuid script { printf(\"cpuid %llx\\n\", $context); }",
                "!syscall stage post script { printf(\"syscall %llx entered at %llx\\n\", $context, @rip); }",
                "!exception 3 sc on",
                "g",
                "r rip",
                "events");

            // Assert
            Assert.That(exit, Is.Zero, output);
            Assert.That(output, Does.Contain("cpuid 40000000\n"), output);
            Assert.That(output, Does.Contain("syscall 3c entered at 100036\n"), "post stage: at LSTAR");
            Assert.That(output, Does.Contain("event 0x2 triggered (pre, !exception, vector 0x3 #BP)"));
            Assert.That(output, Does.Contain("rip=0000000000100037"), "after the INT3");
            Assert.That(output, Does.Contain("!syscall stage post"), "events lists them");
        }
        finally
        {
            Kill(agent);
            File.Delete(image);
        }
    }
}
