// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Net;
using System.Net.Sockets;
using System.Text;
using HyperDbgRemote.Agent.Outputs;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Agent.Tests;

public sealed class OutputManagerTests
{
    private string _dir = string.Empty;
    private string _outside = string.Empty;
    private readonly List<string> _reports = [];

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("hdr-out").FullName;
        _outside = Directory.CreateTempSubdirectory("hdr-outside").FullName;
        _reports.Clear();
    }

    [TearDown]
    public void TearDown()
    {
        Directory.Delete(_dir, recursive: true);
        Directory.Delete(_outside, recursive: true);
    }

    private OutputManager Manager(bool files = true, bool connections = true) =>
        new(files ? OutputPolicy.ForDirectory(_dir, connections) : new OutputPolicy(null, connections), r => { lock (_reports) { _reports.Add(r); } });

    private static void CloseAndDrain(OutputSource source) => source.Close();

    [Test]
    public void File_AppendOrTruncate_AsChosen()
    {
        string path = Path.Combine(_dir, "log.txt");
        File.WriteAllText(path, "old\n");
        using OutputManager m = Manager();
        OutputSource append = m.Create("a", "file", "log.txt");
        append.Open();
        m.Forward(["a"], "one\n");
        CloseAndDrain(append);
        Assert.That(File.ReadAllText(path), Is.EqualTo("old\none\n"));

        OutputSource truncate = m.Create("t", "file", "log.txt", truncate: true);
        truncate.Open();
        m.Forward(["t"], "two\n");
        CloseAndDrain(truncate);
        Assert.That(File.ReadAllText(path), Is.EqualTo("two\n"));

        append.Open();
        m.Forward(["a"], "three\n");
        CloseAndDrain(append);
        Assert.That(File.ReadAllText(path), Is.EqualTo("two\nthree\n"), "a closed source opens again");
    }

    [Test]
    public void File_TruncateSourceOpenedAgain_KeepsWhatItWrote()
    {
        using OutputManager m = Manager();
        OutputSource s = m.Create("t", "file", "log.txt", truncate: true);
        s.Open();
        m.Forward(["t"], "first\n");
        CloseAndDrain(s);

        s.Open();
        m.Forward(["t"], "second\n");
        CloseAndDrain(s);

        Assert.That(File.ReadAllText(Path.Combine(_dir, "log.txt")), Is.EqualTo("first\nsecond\n"), "truncate applies at the first opening only");
    }

    [TestCase("/etc/passwd", "absolute path")]
    [TestCase("../escape.txt", "'..'")]
    [TestCase("sub/../../escape.txt", "'..'")]
    [TestCase("./x.txt", "'.'")]
    [TestCase("a//b.txt", "empty")]
    public void Create_FileOutsideTheDirectory_RefusedAndNothingCreated(string name, string message)
    {
        using OutputManager m = Manager();

        Assert.That(() => m.Create("o", "file", name), Throws.TypeOf<OutputException>().With.Message.Contains(message).And.Property("Status").EqualTo(Status.PermissionDenied));
        Assert.That(m.Sources, Is.Empty);
        Assert.That(File.Exists(Path.Combine(Path.GetDirectoryName(_dir)!, "escape.txt")), Is.False);
    }

    [Test]
    public void Create_FileWithoutOutputDirectory_RefusedNamingTheOption()
    {
        using OutputManager m = Manager(files: false);

        Assert.That(() => m.Create("o", "file", "x.txt"), Throws.TypeOf<OutputException>().With.Message.Contains("--output-dir").And.Property("Status").EqualTo(Status.PermissionDenied));
    }

    [TestCase("namedpipe", "/tmp/x.sock")]
    [TestCase("tcp", "127.0.0.1:9")]
    public void Create_ConnectionWithoutPermission_RefusedNamingTheOption(string kind, string address)
    {
        using OutputManager m = Manager(connections: false);

        Assert.That(() => m.Create("o", kind, address), Throws.TypeOf<OutputException>().With.Message.Contains("--allow-output-connections"));
    }

    [Test]
    public void Open_FileThatIsALinkOutOfTheDirectory_RefusedAndTargetUntouched()
    {
        string target = Path.Combine(_outside, "victim.txt");
        File.WriteAllText(target, "precious");
        File.CreateSymbolicLink(Path.Combine(_dir, "link.txt"), target);
        using OutputManager m = Manager();
        OutputSource s = m.Create("o", "file", "link.txt", truncate: true);

        Assert.That(() => s.Open(), Throws.TypeOf<OutputException>().With.Message.Contains("symbolic link"));
        Assert.That(File.ReadAllText(target), Is.EqualTo("precious"));
        Assert.That(s.State, Is.EqualTo(OutputState.NotOpened));
    }

    [Test]
    public void Open_FileUnderADirectoryLinkOutOfTheDirectory_RefusedAndNothingCreated()
    {
        Directory.CreateSymbolicLink(Path.Combine(_dir, "sub"), _outside);
        using OutputManager m = Manager();
        OutputSource s = m.Create("o", "file", "sub/new.txt");

        Assert.That(() => s.Open(), Throws.TypeOf<OutputException>().With.Message.Contains("symbolic link"));
        Assert.That(File.Exists(Path.Combine(_outside, "new.txt")), Is.False);
    }

    [Test]
    public void Open_Fifo_RefusedWithoutBlocking()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("FIFOs are a Unix feature");
        }

        string fifo = Path.Combine(_dir, "pipe");
        using (var mk = System.Diagnostics.Process.Start("mkfifo", fifo))
        {
            mk.WaitForExit();
        }

        using OutputManager m = Manager();
        OutputSource s = m.Create("o", "file", "pipe");

        Task open = Task.Run(s.Open);
        Assert.That(() => open.Wait(TimeSpan.FromSeconds(30)), Throws.InstanceOf<AggregateException>().With.InnerException.TypeOf<OutputException>().With.InnerException.Message.Contains("FIFO"));
    }

    [Test]
    public async Task Tcp_NewlineDelimitedMessages()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using OutputManager m = Manager();
        OutputSource s = m.Create("net", "tcp", $"127.0.0.1:{port}");
        Task<TcpClient> accept = listener.AcceptTcpClientAsync();
        s.Open();
        using TcpClient peer = await accept.WaitAsync(TimeSpan.FromSeconds(5));
        m.Forward(["net"], "hello");
        m.Forward(["net"], "world\n");
        s.Close();
        using var reader = new StreamReader(peer.GetStream(), Encoding.UTF8);
        Assert.That(await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(5)), Is.EqualTo("hello\nworld\n"));
    }

    [Test]
    public async Task Tcp_ReaderThatNeverReads_ForwardNeverBlocksAndLossesAreCounted()
    {
        // Arrange: a peer that accepts and then reads nothing, so the socket buffers fill
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using OutputManager m = Manager();
        OutputSource s = m.Create("net", "tcp", $"127.0.0.1:{port}");
        Task<TcpClient> accept = listener.AcceptTcpClientAsync();
        s.Open();
        using TcpClient peer = await accept.WaitAsync(TimeSpan.FromSeconds(5));

        // Act: more than the socket buffers and the queue hold, from this thread as a VM exit would (the loop ends at
        // the first loss: every call returns at once, so a blocking Forward would hang the test instead)
        string message = new('x', 1000);
        int messages = 0;
        while (s.Lost == 0 && messages < 1_000_000)
        {
            m.Forward(["net"], message);
            messages++;
        }

        // Assert: every call returned; what did not fit is counted and reported once
        Assert.That(s.Lost, Is.GreaterThan(0));
        Assert.That(s.Sent + s.Lost, Is.LessThanOrEqualTo(messages));
        Assert.That(_reports, Has.Count.EqualTo(1).And.Some.Contains("not keeping up"));
    }

    [Test]
    public async Task NamedPipe_UnixSocketPath_Delivers()
    {
        string path = Path.Combine(_dir, "out.sock");
        using var server = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        server.Bind(new UnixDomainSocketEndPoint(path));
        server.Listen(1);
        using OutputManager m = Manager();
        OutputSource s = m.Create("pipe", "namedpipe", path);
        Task<Socket> accept = server.AcceptAsync();
        s.Open();
        using Socket peer = await accept.WaitAsync(TimeSpan.FromSeconds(5));
        m.Forward(["pipe"], "msg");
        s.Close();
        using var reader = new StreamReader(new NetworkStream(peer), Encoding.UTF8);
        Assert.That(await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(5)), Is.EqualTo("msg\n"));
    }

    [Test]
    public async Task Failure_ReportedOnceWithCount_ThenReopen()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using OutputManager m = Manager();
        OutputSource s = m.Create("net", "tcp", $"127.0.0.1:{port}");
        Task<TcpClient> accept = listener.AcceptTcpClientAsync();
        s.Open();
        (await accept.WaitAsync(TimeSpan.FromSeconds(5))).Dispose();

        // The peer is gone: writes fail once the connection reset arrives.
        for (int i = 0; i < 2000 && s.State == OutputState.Opened; i++)
        {
            m.Forward(["net"], new string('x', 1000));
            await Task.Yield();
            if (i % 100 == 99)
            {
                await Task.Delay(1);
            }
        }

        for (int i = 0; i < 10; i++)
        {
            m.Forward(["net"], "after");
        }

        Assert.That(s.State, Is.EqualTo(OutputState.Failed));
        // Under load the writer may first report that it is not keeping up; the failure itself is reported once.
        List<string> failures = [.. _reports.Where(r => r.Contains("failed", StringComparison.Ordinal))];
        Assert.That(failures, Has.Count.EqualTo(1));
        Assert.That(failures[0], Does.Contain("output 'net' failed"));
        Assert.That(s.Lost, Is.GreaterThanOrEqualTo(11));
    }

    [TestCase("", "file", "x", "name")]
    [TestCase("a b", "file", "x", "name")]
    [TestCase("x", "ftp", "x", "unknown")]
    [TestCase("x", "tcp", "localhost", "HOST:PORT")]
    [TestCase("x", "tcp", "localhost:0", "HOST:PORT")]
    public void Create_BadInput_Named(string name, string kind, string address, string message)
    {
        using OutputManager m = Manager();
        Assert.That(() => m.Create(name, kind, address), Throws.TypeOf<OutputException>().With.Message.Contains(message));
        Assert.That(m.Sources, Is.Empty);
    }

    [Test]
    public void Open_Unreachable_SaysWhy()
    {
        using OutputManager m = Manager();
        OutputSource s = m.Create("f", "file", "no/such/dir.txt");
        Assert.That(() => s.Open(), Throws.TypeOf<OutputException>().With.Message.Contains("cannot be opened"));
        Assert.That(s.State, Is.EqualTo(OutputState.NotOpened));
        Assert.That(() => m.Get("nope"), Throws.TypeOf<OutputException>().With.Message.Contains("not found"));
    }
}
