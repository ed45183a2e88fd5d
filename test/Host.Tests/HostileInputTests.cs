// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <content>
/// What a hostile or careless peer sends, through the real processes: replies larger than a frame, tokens too short,
/// break-ins without a handshake, idle connections, too many connections, a socket path that is a file, images that are
/// devices, outputs that are FIFOs. Each gets a clear answer and the agent keeps serving.
/// </content>
public sealed partial class RemoteSessionTests
{
    private const string Token = "0123456789abcdef0123";

    [Test]
    public void Serial_MemoryReplyOfTheDocumentedMaximum_ArrivesAndTheLineKeepsServing()
    {
        using SocatPtyPair ptys = SocatPtyPair.Start();
        using Process agent = StartAgent($"serial:{ptys.First}?baud=115200", "--initial-break");
        try
        {
            (int exit, string output) = RunHost($".debug remote serial 115200 {ptys.Second}", "db 100000 l 10000");
            Assert.That(exit, Is.Zero, output);
            Assert.That(output, Does.Contain("00000000`0010fff0"), "the last line of 64 KiB");

            (exit, output) = RunHost($".debug remote serial 115200 {ptys.Second}", ".status");
            Assert.That(exit, Is.Zero, output);
            Assert.That(output, Does.Contain("debuggee: halted"), "the serial listener still serves");
        }
        finally
        {
            Kill(agent);
        }
    }

    [TestCase("tcp")]
    [TestCase("pipe")]
    public void Link_EvaluationPrintingMoreThanAFrame_ArrivesWholeAndTheListenerKeepsServing(string kind)
    {
        string address = kind == "tcp" ? $"tcp://127.0.0.1:{FreePort()}" : $"pipe:{Path.Combine(Path.GetTempPath(), $"hdr-{Guid.NewGuid():N}.sock")}";
        string connect = kind == "tcp" ? $".connect {address}" : $".debug remote namedpipe {address[5..]}";
        using Process agent = StartAgent(address, "--initial-break");
        try
        {
            (int exit, string output) = RunHost(connect, "? .i = 0; while (.i < 0n4000) { printf(\"row %d of a long output\\n\", .i); .i = .i + 1; }");
            Assert.That(exit, Is.Zero, output);
            Assert.That(Regex.Matches(output, @"^row \d+ of a long output$", RegexOptions.Multiline), Has.Count.EqualTo(4000));

            (exit, output) = RunHost(connect, ".status");
            Assert.That(exit, Is.Zero, output);
        }
        finally
        {
            Kill(agent);
        }
    }

    [Test]
    public void Agent_ShortToken_RefusesToStart()
    {
        (int exit, string errors) = RunAgentToEnd(["--guest", "demo", "--listen", $"tcp://127.0.0.1:{FreePort()}", "--token", "short"]);

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(errors, Does.Contain("at least 16 characters"));
    }

    [Test]
    public void Agent_EmptyTokenInTheEnvironmentBeyondLoopback_RefusesToStart()
    {
        (int exit, string errors) = RunAgentToEnd(["--guest", "demo", "--listen", "grpc://0.0.0.0:0", "--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"], ("HYPERDBG_TOKEN", string.Empty));

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(errors, Does.Contain("token"));
    }

    [Test]
    public async Task Tcp_BreakInWithoutAHandshake_IsIgnored()
    {
        // Arrange: a token-protected agent whose guest runs
        int port = FreePort();
        using Process agent = StartAgent($"tcp://127.0.0.1:{port}", "--token", Token);
        var logLines = new List<string>();
        agent.ErrorDataReceived += (_, e) => { lock (logLines) { logLines.Add(e.Data ?? string.Empty); } };

        try
        {
            // Act: a peer that establishes the link but never shakes hands sends break-ins, then a request
            await using TcpTransport transport = await TcpTransport.ConnectAsync("127.0.0.1", port, TimeSpan.FromSeconds(5));
            await using var link = new ReliableLink<HostToAgent, AgentToHost>(transport);
            await link.Established.WaitAsync(TimeSpan.FromSeconds(30));
            for (int i = 0; i < 5; i++)
            {
                link.SendBreakIn();
            }

            await link.SendAsync(new HostToAgent { RequestId = 1, Pause = new PauseRequest() });
            AgentToHost answer = await link.ReceiveAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

            // Assert: the request was refused, and the break-ins (read before it) halted nothing
            Assert.That(answer.Notification.Log.Text, Does.Contain("first request must be a handshake"));
            (int exit, string output) = RunHostWith(["--connect", $"tcp://127.0.0.1:{port}", "--token", Token], ".status");
            Assert.That(exit, Is.Zero, output);
            Assert.That(output, Does.Contain("debuggee: running"));
            lock (logLines)
            {
                Assert.That(logLines, Has.Some.Contains("break-in from a peer that has not completed its handshake: ignored"));
            }
        }
        finally
        {
            Kill(agent);
        }
    }

    [Test]
    public void Tcp_IdleConnectionsThatNeverShakeHands_AreClosed()
    {
        int port = FreePort();
        using Process agent = StartAgent($"tcp://127.0.0.1:{port}", "--handshake-timeout", "0.5");
        try
        {
            var sockets = Enumerable.Range(0, 10).Select(_ => Connect(port)).ToList();
            foreach (Socket s in sockets)
            {
                Assert.That(ReadUntilClosed(s), Is.True, "the agent closed the idle connection");
                s.Dispose();
            }

            (int exit, string output) = RunHost($".connect tcp://127.0.0.1:{port}", ".status");
            Assert.That(exit, Is.Zero, output);
        }
        finally
        {
            Kill(agent);
        }
    }

    [Test]
    public void Tcp_ConnectionsBeyondTheLimit_AreClosedAtOnce()
    {
        int port = FreePort();
        using Process agent = StartAgent($"tcp://127.0.0.1:{port}", "--max-connections", "3", "--handshake-timeout", "600");
        try
        {
            List<Socket> held = [.. Enumerable.Range(0, 3).Select(_ => Connect(port))];
            using Socket extra = Connect(port);
            Assert.That(ReadUntilClosed(extra), Is.True, "the fourth connection is closed");
            foreach (Socket s in held)
            {
                Assert.That(s.Poll(0, SelectMode.SelectRead) && s.Available == 0, Is.False, "the first three are still open");
            }

            held.ForEach(s => s.Dispose());
            (int exit, string output) = RunHost($".connect tcp://127.0.0.1:{port}", ".status");
            Assert.That(exit, Is.Zero, output);
        }
        finally
        {
            Kill(agent);
        }
    }

    [Test]
    public async Task Pipe_TwentyDebuggersAtOnce_AreAllServed()
    {
        string path = Path.Combine(Path.GetTempPath(), $"hdr-{Guid.NewGuid():N}.sock");
        using Process agent = StartAgent("pipe:" + path);
        try
        {
            LinkDebuggeeConnection[] connections = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => LinkDebuggeeConnection.ConnectAsync("pipe:" + path, timeout: TimeSpan.FromSeconds(60)))).WaitAsync(TimeSpan.FromMinutes(2));
            Assert.That(connections.Select(c => c.Handshake.Status), Is.All.EqualTo(Status.Ok));
            foreach (LinkDebuggeeConnection c in connections)
            {
                await c.DisposeAsync();
            }
        }
        finally
        {
            Kill(agent);
        }
    }

    [TestCase("grpc+unix")]
    [TestCase("pipe")]
    public void Listen_SocketPathThatIsARegularFile_RefusedAndTheFileKept(string scheme)
    {
        string path = Path.Combine(Path.GetTempPath(), $"hdr-{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, "precious");
        try
        {
            (int exit, string errors) = RunAgentToEnd(["--guest", "demo", "--listen", $"{scheme}:{path}"]);

            Assert.That(exit, Is.EqualTo(2), errors);
            Assert.That(errors, Does.Contain("is not a socket"));
            Assert.That(File.ReadAllText(path), Is.EqualTo("precious"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>A port another program (or a second agent) already listens on is the commonest mistake: the agent says
    /// which address and why, exits 2 as for any listener it cannot open, and prints no stack trace.</summary>
    [TestCase("tcp", "the address is in use")]
    [TestCase("gdb", "the address is in use")]
    [TestCase("grpc", "address already in use")]
    public void Listen_PortAlreadyInUse_RefusedWithTheAddressAndExitTwo(string scheme, string reason)
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        int port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;

        (int exit, string errors) = RunAgentToEnd(["--guest", "demo", "--listen", $"{scheme}://127.0.0.1:{port}"]);

        Assert.That(exit, Is.EqualTo(2), errors);
        Assert.That(errors, Does.Contain($"hyperdbg-agent: cannot listen on {scheme}://127.0.0.1:{port}: ").And.Contain(reason), errors);
        Assert.That(errors, Does.Not.Contain("   at "), "no stack trace: " + errors);
    }

    /// <summary>The agent's log holds what the agent says and the framework's warnings and errors, not ASP.NET's start-up
    /// chatter ("Now listening on", "Press Ctrl+C to shut down").</summary>
    [Test]
    public void Grpc_FrameworkInformationLines_StayOutOfTheAgentsLog()
    {
        using Process agent = Start("dotnet", [Dll("Debuggee.Agent", "HyperDbgRemote.Agent.dll"), "--guest", "demo", "--listen", "grpc://127.0.0.1:0"], drainErrors: false);
        Task<string> log = agent.StandardError.ReadToEndAsync();
        try
        {
            Assert.That(agent.StandardOutput.ReadLine(), Does.Contain("\"ready\":true"));
            using (Process term = Process.Start("kill", ["-TERM", agent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                term.WaitForExit();
            }

            Assert.That(agent.WaitForExit(TimeSpan.FromMinutes(1)), Is.True, "the agent stops on SIGTERM");
            Assert.That(log.Result, Does.Contain("started with").And.Contain("agent stopping"), log.Result);
            Assert.That(log.Result, Does.Not.Contain("Now listening on").And.Not.Contain("Application started").And.Not.Contain("Content root path"), log.Result);
        }
        finally
        {
            if (!agent.HasExited)
            {
                agent.Kill(entireProcessTree: true);
            }
        }
    }

    [Test]
    public void Guest_ImageThatIsADevice_RefusedWithoutReadingIt()
    {
        (int exit, string errors) = RunAgentToEnd(["--guest", "flat64:/dev/zero@100000", "--run-seconds", "1"]);

        Assert.That(exit, Is.EqualTo(2), errors);
        Assert.That(errors, Does.Contain("not a regular file"));
    }

    [Test]
    public void Demo_LargestMemory_Runs()
    {
        (int exit, string output, string errors) = RunAgent(["--guest", "demo", "--memory", "3072", "--run-seconds", "1"]);

        Assert.That(exit, Is.Zero, errors);
        Assert.That(output, Does.Contain("shell tick"));
        Assert.That(output, Does.Not.Contain("triple fault"));
    }

    [Test]
    public void Output_FifoInTheOutputDirectory_RefusedWithoutBlocking()
    {
        string dir = Directory.CreateTempSubdirectory("hdr-fifo-").FullName;
        using (Process mk = Process.Start("mkfifo", Path.Combine(dir, "fifo")))
        {
            mk.WaitForExit();
        }

        int port = FreePort();
        using Process agent = StartAgent($"tcp://127.0.0.1:{port}", "--output-dir", dir);
        try
        {
            (int exit, string output) = RunHost($".connect tcp://127.0.0.1:{port}", "output create o file fifo", "output open o");

            Assert.That(exit, Is.EqualTo(1), output);
            Assert.That(output, Does.Contain("FIFO"));
        }
        finally
        {
            Kill(agent);
            Directory.Delete(dir, recursive: true);
        }
    }

    private static Socket Connect(int port)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Connect(IPAddress.Loopback, port);
        return s;
    }

    /// <summary>Reads (discarding what the agent sends) until the agent closes the connection; false after 60 s.</summary>
    private static bool ReadUntilClosed(Socket s)
    {
        s.ReceiveTimeout = 60_000;
        var buffer = new byte[1024];
        try
        {
            while (s.Receive(buffer) > 0)
            {
            }

            return true;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static (int Exit, string Errors) RunAgentToEnd(string[] args, params (string Name, string Value)[] environment)
    {
        (int exit, _, string errors) = RunAgent(args, environment);
        return (exit, errors);
    }

    private static (int Exit, string Output, string Errors) RunAgent(string[] args, params (string Name, string Value)[] environment) =>
        DebuggerProcesses.RunToEnd(DebuggerProcesses.AgentStartInfo(args), TimeSpan.FromSeconds(60), environment);
}
