// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using System.Text.Json;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <summary>The ways people use the debugger, with real processes: serial over a socat pty pair, a named pipe
/// (Unix socket) and loopback TCP, each running the same session against the demo guest.</summary>
[Category("EndToEnd")]
public sealed partial class RemoteSessionTests
{
    private static string Root() => new DirectoryInfo(AppContext.BaseDirectory).Parent!.Parent!.Parent!.Parent!.Parent!.FullName;

    private static string Configuration() => new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;

    private static string Dll(string project, string assembly) => Path.Combine(Root(), project, "bin", Configuration(), "net10.0", assembly);

    private static Process Start(string file, IEnumerable<string> args, bool drainErrors = true)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        Process p = Process.Start(psi)!;
        if (drainErrors)
        {
            p.ErrorDataReceived += (_, _) => { };
            p.BeginErrorReadLine();
        }

        return p;
    }

    private static void Kill(Process p)
    {
        if (!p.HasExited)
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(5000);
        }

        p.Dispose();
    }

    private static Process StartAgent(string listen, params string[] options)
    {
        Process agent = Start("dotnet", [Dll("Debuggee.Agent", "HyperDbgRemote.Agent.dll"), "--guest", "demo", "--listen", listen, .. options]);
        Task<string?> line = agent.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(30)) || line.Result is null || !line.Result.Contains("\"ready\":true", StringComparison.Ordinal))
        {
            Kill(agent);
            throw new AssertionException("the agent did not get ready");
        }

        return agent;
    }

    private static (int Exit, string Output) RunHost(params string[] commands) => RunHostWith([], commands);

    /// <summary>Runs the debugger with <paramref name="options"/> and one <c>-c</c> per command.</summary>
    private static (int Exit, string Output) RunHostWith(string[] options, params string[] commands)
    {
        (int exit, string output, string errors) = HyperDbgProcess.Run([.. options, .. commands.SelectMany(c => new[] { "-c", c })]);
        return (exit, output + errors);
    }

    private static void AssertSession(string connect)
    {
        // The agent holds the guest at its initial break, so the banner is still to come when the events are set.
        (int exit, string output) = RunHost(
            connect,
            "!ioout 3f8 script { printf(\"%c\", @al); }",
            "!ioout 80",
            "g",
            "r",
            "r al = 42",
            "r al",
            "u l 2",
            "events",
            "events d 1",
            "events c all",
            "g",
            ".status");
        Assert.That(exit, Is.Zero, output);
        Assert.That(output, Does.Contain("initial break: all cores halted before the first instruction"));
        Assert.That(output, Does.Contain("HyperDbgRemote demo guest 1.0"), "the script event printed the COM1 banner");
        Assert.That(output, Does.Contain("event 0x1 triggered (pre)"));
        Assert.That(output, Does.Contain("out 80h,al"));
        Assert.That(output, Does.Contain("RIP=0000000000100033"));
        Assert.That(output, Does.Contain("al=0000000000000042"));
        Assert.That(output, Does.Contain("(enabled)\t    !ioout 80"));
        Assert.That(output, Does.Contain("debuggee: running"));
    }

    [Test]
    public void Serial_SocatPtyPair_BreakChangeContinue()
    {
        using SocatPtyPair ptys = SocatPtyPair.Start();
        using Process agent = StartAgent($"serial:{ptys.First}?baud=115200", "--initial-break");
        try
        {
            AssertSession($".debug remote serial 115200 {ptys.Second}");
        }
        finally
        {
            Kill(agent);
        }
    }

    [Test]
    public void NamedPipe_UnixSocket_BreakChangeContinue()
    {
        string path = Path.Combine(Path.GetTempPath(), $"hdr-pipe-{Guid.NewGuid():N}.sock");
        using Process agent = StartAgent("pipe:" + path, "--initial-break");
        try
        {
            AssertSession(".debug remote namedpipe " + path);
        }
        finally
        {
            Kill(agent);
        }
    }

    [Test]
    public void Tcp_Loopback_BreakChangeContinue()
    {
        int port = FreePort();
        using Process agent = StartAgent($"tcp://127.0.0.1:{port}", "--initial-break");
        try
        {
            AssertSession($".connect tcp://127.0.0.1:{port}");
        }
        finally
        {
            Kill(agent);
        }
    }

    private static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        int port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
