// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;

namespace HyperDbgRemote.Agent.Tests;

[Category("EndToEnd")]
public sealed class PythonClientTests
{
    private const string Python = "/usr/bin/python3";

    [Test]
    public void WatchPorts_AgainstHeadlessAgent_BreaksThreeTimesAndContinues()
    {
        // Arrange: a guest looping on "mov al, 5ah; out 80h, al".
        if (!File.Exists(Python))
        {
            Assert.Ignore("skipped: /usr/bin/python3 not found");
        }

        string image = Path.Combine(Path.GetTempPath(), $"hdr-post-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(image, [0xB0, 0x5A, 0xE6, 0x80, 0xEB, 0xFA]);
        using AgentProcess agent = AgentProcess.Start("--guest", $"flat64:{image}@100000", "--listen", "grpc://127.0.0.1:0");
        string address = agent.Listen[0]["grpc://".Length..];

        // Act
        var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AgentProcess.RepositoryRoot(), "examples", "python", "watch_ports.py"));
        psi.ArgumentList.Add("--agent");
        psi.ArgumentList.Add(address);
        psi.ArgumentList.Add("--port");
        psi.ArgumentList.Add("80");
        psi.ArgumentList.Add("--breaks");
        psi.ArgumentList.Add("3");
        using Process client = Process.Start(psi)!;
        Task<string> stderr = client.StandardError.ReadToEndAsync();
        string output = client.StandardOutput.ReadToEnd();
        Assert.That(client.WaitForExit(60_000), Is.True, "the client finished");
        File.Delete(image);

        // Assert
        Assert.That(client.ExitCode, Is.Zero, output + stderr.Result);
        Assert.That(output, Does.Contain("break 1: core 0 event 0 port 80 rip 100002 out 80h,al al=5a"));
        Assert.That(output, Does.Contain("break 3:"));
        Assert.That(output, Does.Contain("done: 3 breaks, event cleared, guest running"));
    }

    [Test]
    public void CSharpExample_OverGrpcAndPipe_BreaksThreeTimesAndContinues()
    {
        string image = Path.Combine(Path.GetTempPath(), $"hdr-post-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(image, [0xB0, 0x5A, 0xE6, 0x80, 0xEB, 0xFA]);
        string socket = Path.Combine(Path.GetTempPath(), $"hdr-ex-{Guid.NewGuid():N}.sock");
        using AgentProcess agent = AgentProcess.Start("--guest", $"flat64:{image}@100000", "--listen", "grpc://127.0.0.1:0", "--listen", "pipe:" + socket);
        string example = Path.Combine(AgentProcess.RepositoryRoot(), "examples", "csharp", "WatchPorts", "bin", new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name, "net10.0", "watch-ports.dll");
        foreach (string uri in new[] { agent.Listen[0], "pipe:" + socket })
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(example);
            psi.ArgumentList.Add(uri);
            psi.ArgumentList.Add("80");
            psi.ArgumentList.Add("3");
            using Process client = Process.Start(psi)!;
            Task<string> stderr = client.StandardError.ReadToEndAsync();
            string output = client.StandardOutput.ReadToEnd();
            Assert.That(client.WaitForExit(60_000), Is.True);
            Assert.That(client.ExitCode, Is.Zero, uri + ": " + output + stderr.Result);
            Assert.That(output, Does.Contain("port 80 rip 100002 out 80h,al al=5a").And.Contain("done: 3 breaks"), uri);
        }

        File.Delete(image);
    }
}
