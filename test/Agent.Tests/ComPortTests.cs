// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using HyperDbgRemote.Tests.Shared;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.Agent.Tests;

/// <summary>
/// The agent's --comN options end to end: a real agent process runs a guest that prints a banner on COM1 and echoes
/// what it receives (polling the UART), and the test talks to it through the backend a user would use.
/// </summary>
[Category("Serial")]
public sealed class ComPortTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("hdr-com").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    /// <summary>Prints "echo>" on COM1, then copies every received byte back.</summary>
    private string EchoGuest()
    {
        var a = new Assembler(64);
        Label wait = a.CreateLabel();
        foreach (char c in "echo>")
        {
            a.mov(dx, 0x3F8);
            a.mov(al, (byte)c);
            a.@out(dx, al);
        }

        a.Label(ref wait);
        a.mov(dx, 0x3FD);
        a.@in(al, dx);
        a.test(al, 1);
        a.jz(wait);
        a.mov(dx, 0x3F8);
        a.@in(al, dx);
        a.@out(dx, al);
        a.jmp(wait);
        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), 0x10_0000);
        string path = Path.Combine(_dir, "echo.bin");
        File.WriteAllBytes(path, stream.ToArray());
        return path;
    }

    private static Process StartAgent(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add(AgentProcess.AgentDll());
        foreach (string arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        return Process.Start(psi)!;
    }

    private static string ReadComLine(Process agent)
    {
        Task<string?> line = agent.StandardError.ReadLineAsync();
        Assert.That(line.Wait(s_timeout), Is.True, "the agent names its COM1 backend on standard error");
        Assert.That(line.Result, Does.StartWith("COM1: "));
        return line.Result!;
    }

    private static string ReadExactly(Stream stream, int count)
    {
        byte[] buffer = new byte[count];
        stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(s_timeout).GetAwaiter().GetResult();
        return Encoding.ASCII.GetString(buffer);
    }

    private static void Stop(Process agent)
    {
        agent.Kill(entireProcessTree: true);
        agent.WaitForExit(5000);
        agent.Dispose();
    }

    [Test]
    public void Pty_UserTypesIntoTheTerminal_GuestEchoesIt()
    {
        Process agent = StartAgent("--guest", $"flat64:{EchoGuest()}@100000", "--com1", "pty", "--run-seconds", "600");
        try
        {
            // Arrange: "COM1: pty /dev/pts/N (connect with: screen /dev/pts/N, or picocom /dev/pts/N)".
            string line = ReadComLine(agent);
            string device = line.Split(' ')[2];
            Assert.That(line, Does.Contain($"screen {device}"));
            using var terminal = new FileStream(device, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1);

            // Act / Assert: the banner was kept for us; what we type comes back.
            Assert.That(ReadExactly(terminal, 5), Is.EqualTo("echo>"));
            terminal.Write("hello\n"u8);
            terminal.Flush();
            Assert.That(ReadExactly(terminal, 6), Is.EqualTo("hello\n"));
        }
        finally
        {
            Stop(agent);
        }
    }

    [Test]
    [Category("Firmware")]
    public void Pty_LinuxGuest_UserTypesIntoTheBusyboxShell_TheShellAnswers()
    {
        // Arrange: Debian's kernel with the default command line: /init runs in ring 3 and gives a shell on COM1.
        string dir = Path.Combine(AgentProcess.RepositoryRoot(), ".cache", "linux");
        if (!File.Exists(Path.Combine(dir, "vmlinuz")) || !File.Exists(Path.Combine(dir, "initramfs.cpio.gz")))
        {
            Assert.Ignore("skipped: the Linux guest files are missing (run ./build.sh deps)");
        }

        Process agent = StartAgent("--guest", "linux", "--com1", "pty", "--run-seconds", "600");
        try
        {
            string device = ReadComLine(agent).Split(' ')[2];
            using var terminal = new FileStream(device, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1);
            var console = new StringBuilder();

            // Act: wait for the shell's prompt, type a command as a user does (Enter sends CR), read its answer.
            // ash's prompt is "/ # ", followed by a cursor-position query (ESC [6n) it does not wait for.
            ReadUntil(terminal, console, text => text.Contains("busybox shell on the console", StringComparison.Ordinal) && text.Contains("/ # ", StringComparison.Ordinal));
            int typedAt = console.Length;
            terminal.Write("echo hi\r"u8);
            terminal.Flush();
            ReadUntil(terminal, console, text => AnswerLines(text[typedAt..]).Contains("hi"));

            // Assert: the shell echoed the command line, then printed its output on a line of its own.
            string[] answer = AnswerLines(console.ToString()[typedAt..]);
            Assert.That(answer[0], Does.EndWith("echo hi"), console.ToString());
            Assert.That(answer, Does.Contain("hi"));
        }
        finally
        {
            Stop(agent);
        }
    }

    private static string[] AnswerLines(string text) => text.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();

    /// <summary>Reads the terminal into <paramref name="console"/> until <paramref name="done"/> holds (or fails after
    /// 3 minutes with what was read: a Linux boot on a busy machine).</summary>
    private static void ReadUntil(Stream terminal, StringBuilder console, Func<string, bool> done)
    {
        byte[] buffer = new byte[4096];
        DateTime deadline = DateTime.UtcNow.AddMinutes(3);
        while (!done(console.ToString()))
        {
            int n;
            try
            {
                TimeSpan left = deadline - DateTime.UtcNow;
                n = terminal.ReadAsync(buffer).AsTask().WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero).GetAwaiter().GetResult();
            }
            catch (TimeoutException)
            {
                n = 0;
            }

            if (n == 0)
            {
                Assert.Fail("the console ended with:\n" + string.Join('\n', console.ToString().Split('\n').TakeLast(10)));
            }

            console.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
    }

    [Test]
    public void Tcp_ClientOnLoopback_GuestEchoes()
    {
        Process agent = StartAgent("--guest", $"flat64:{EchoGuest()}@100000", "--com1", "tcp://127.0.0.1:0", "--run-seconds", "600");
        try
        {
            string line = ReadComLine(agent);
            int port = int.Parse(line[(line.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            using var client = new TcpClient();
            client.Connect("127.0.0.1", port);
            NetworkStream stream = client.GetStream();
            Assert.That(ReadExactly(stream, 5), Is.EqualTo("echo>"));
            stream.Write("ls /\n"u8);
            Assert.That(ReadExactly(stream, 5), Is.EqualTo("ls /\n"));
        }
        finally
        {
            Stop(agent);
        }
    }

    [Test]
    public void Unix_ClientOnTheSocket_GuestEchoes()
    {
        string socket = Path.Combine(_dir, "com1.sock");
        Process agent = StartAgent("--guest", $"flat64:{EchoGuest()}@100000", "--com1", $"unix:{socket}", "--run-seconds", "600");
        try
        {
            Assert.That(ReadComLine(agent), Is.EqualTo($"COM1: unix:{socket}"));
            using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            client.Connect(new UnixDomainSocketEndPoint(socket));
            using var stream = new NetworkStream(client);
            Assert.That(ReadExactly(stream, 5), Is.EqualTo("echo>"));
            stream.Write("x"u8);
            Assert.That(ReadExactly(stream, 1), Is.EqualTo("x"));
        }
        finally
        {
            Stop(agent);
        }
    }

    [Test]
    public void Stdio_AgentsStandardInputAndOutput_AreTheLine()
    {
        Process agent = StartAgent("--guest", $"flat64:{EchoGuest()}@100000", "--com1", "stdio", "--run-seconds", "600");
        try
        {
            Assert.That(ReadComLine(agent), Is.EqualTo("COM1: stdio"));
            Stream output = agent.StandardOutput.BaseStream;
            string banner = string.Empty;
            while (!banner.EndsWith("echo>", StringComparison.Ordinal))
            {
                banner += ReadExactly(output, 1); // "guest: ..." comes first
            }

            agent.StandardInput.Write("hi\n");
            agent.StandardInput.Flush();
            Assert.That(ReadExactly(output, 3), Is.EqualTo("hi\n"));
        }
        finally
        {
            Stop(agent);
        }
    }

    [TestCase("--com1", "tcp://0.0.0.0:4555", "loopback address only")]
    [TestCase("--com3", "serial0", "unknown serial backend")]
    [TestCase("--com2", "file:/nonexistent-dir/com2.log", "COM2: serial file")]
    public void BadBackend_ClearErrorAndExitCode2(string option, string value, string expected)
    {
        using Process agent = StartAgent("--guest", $"flat64:{EchoGuest()}@100000", option, value, "--run-seconds", "1");
        string stderr = agent.StandardError.ReadToEnd();
        Assert.That(agent.WaitForExit(30_000), Is.True);
        Assert.That(agent.ExitCode, Is.EqualTo(2), stderr);
        Assert.That(stderr, Does.Contain(expected));
    }
}
