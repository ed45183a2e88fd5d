// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Net;
using System.Net.Sockets;
using System.Text;
using HyperDbgRemote.Agent.Outputs;

namespace HyperDbgRemote.Agent.Tests;

public sealed class OutputManagerTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("hdr-out").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void File_AppendOrTruncate_AsChosen()
    {
        string path = Path.Combine(_dir, "log.txt");
        File.WriteAllText(path, "old\n");
        using var m = new OutputManager();
        OutputSource append = m.Create("a", "file", path);
        append.Open();
        m.Forward(["a"], "one\n");
        append.Close();
        Assert.That(File.ReadAllText(path), Is.EqualTo("old\none\n"));

        OutputSource truncate = m.Create("t", "file", path, truncate: true);
        truncate.Open();
        m.Forward(["t"], "two\n");
        truncate.Close();
        Assert.That(File.ReadAllText(path), Is.EqualTo("two\n"));

        append.Open();
        m.Forward(["a"], "three\n");
        append.Close();
        Assert.That(File.ReadAllText(path), Is.EqualTo("two\nthree\n"), "a closed source opens again");
    }

    [Test]
    public async Task Tcp_NewlineDelimitedMessages()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var m = new OutputManager();
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
    public async Task NamedPipe_UnixSocketPath_Delivers()
    {
        string path = Path.Combine(_dir, "out.sock");
        using var server = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        server.Bind(new UnixDomainSocketEndPoint(path));
        server.Listen(1);
        using var m = new OutputManager();
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
        using var m = new OutputManager();
        OutputSource s = m.Create("net", "tcp", $"127.0.0.1:{port}");
        Task<TcpClient> accept = listener.AcceptTcpClientAsync();
        s.Open();
        (await accept.WaitAsync(TimeSpan.FromSeconds(5))).Dispose();

        var reports = new List<string>();
        for (int i = 0; i < 200 && s.State == OutputState.Opened; i++)
        {
            reports.AddRange(m.Forward(["net"], new string('x', 1000)));
            await Task.Delay(5);
        }

        for (int i = 0; i < 10; i++)
        {
            reports.AddRange(m.Forward(["net"], "after"));
        }

        Assert.That(s.State, Is.EqualTo(OutputState.Failed));
        Assert.That(reports, Has.Count.EqualTo(1));
        Assert.That(reports[0], Does.Contain("output 'net' failed"));
        Assert.That(s.Lost, Is.GreaterThanOrEqualTo(11));
    }

    [TestCase("", "file", "x", "name")]
    [TestCase("a b", "file", "x", "name")]
    [TestCase("x", "ftp", "x", "unknown")]
    [TestCase("x", "tcp", "localhost", "HOST:PORT")]
    [TestCase("x", "tcp", "localhost:0", "HOST:PORT")]
    public void Create_BadInput_Named(string name, string kind, string address, string message)
    {
        using var m = new OutputManager();
        Assert.That(() => m.Create(name, kind, address), Throws.TypeOf<OutputException>().With.Message.Contains(message));
        Assert.That(m.Sources, Is.Empty);
    }

    [Test]
    public void Open_Unreachable_SaysWhy()
    {
        using var m = new OutputManager();
        OutputSource s = m.Create("f", "file", Path.Combine(_dir, "no", "such", "dir.txt"));
        Assert.That(() => s.Open(), Throws.TypeOf<OutputException>().With.Message.Contains("cannot be opened"));
        Assert.That(s.State, Is.EqualTo(OutputState.NotOpened));
        Assert.That(() => m.Get("nope"), Throws.TypeOf<OutputException>().With.Message.Contains("not found"));
    }
}
