// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Protocol.Tests;

public sealed class ConnectionUriTests
{
    [TestCase("serial:/dev/pts/3?baud=115200", ConnectionKind.Serial, "/dev/pts/3", 0, 115200)]
    [TestCase("serial:/dev/ttyS0", ConnectionKind.Serial, "/dev/ttyS0", 0, 115200)]
    [TestCase("serial:COM2?baud=110", ConnectionKind.Serial, "COM2", 0, 110)]
    [TestCase("serial:com4?baud=256000", ConnectionKind.Serial, "com4", 0, 256000)]
    [TestCase("pipe:hyperdbg", ConnectionKind.Pipe, "hyperdbg", 0, 0)]
    [TestCase(@"pipe:\\.\pipe\com_1", ConnectionKind.Pipe, "com_1", 0, 0)]
    [TestCase("pipe:/tmp/vm/com1.sock", ConnectionKind.Pipe, "/tmp/vm/com1.sock", 0, 0)]
    [TestCase("tcp://127.0.0.1:50000", ConnectionKind.Tcp, "127.0.0.1", 50000, 0)]
    [TestCase("TCP://localhost:1", ConnectionKind.Tcp, "localhost", 1, 0)]
    [TestCase("tcp://[::1]:65535", ConnectionKind.Tcp, "::1", 65535, 0)]
    [TestCase("grpc://agent.local:50051/", ConnectionKind.Grpc, "agent.local", 50051, 0)]
    [TestCase("grpc+unix:/run/hyperdbg/agent.sock", ConnectionKind.GrpcUnix, "/run/hyperdbg/agent.sock", 0, 0)]
    public void TryParse_Valid_ReturnsParts(string text, ConnectionKind kind, string target, int port, int baud)
    {
        Assert.That(ConnectionUri.TryParse(text, out ConnectionUri? uri, out string? error), Is.True, error);
        Assert.That(uri, Is.EqualTo(new ConnectionUri(kind, target, port, baud, uri!.IsUnixSocket)));
    }

    [Test]
    public void TryParse_SocketPath_IsUnixSocket()
    {
        Assert.That(ConnectionUri.Parse("pipe:/tmp/a.sock").IsUnixSocket, Is.True);
        Assert.That(ConnectionUri.Parse("pipe:a").IsUnixSocket, Is.False);
        Assert.That(ConnectionUri.Parse("grpc+unix:/tmp/a.sock").IsUnixSocket, Is.True);
    }

    [TestCase("", "invalid connection")]
    [TestCase("/dev/ttyS0", "invalid connection")]
    [TestCase("ftp://host:1", "unknown scheme 'ftp'")]
    [TestCase("serial:/dev/ttyS0?baud=115201", "baud rate 115201")]
    [TestCase("serial:/dev/ttyS0?baud=0x1C200", "baud '0x1C200'")]
    [TestCase("serial:/dev/ttyS0?baud=", "baud ''")]
    [TestCase("serial:/dev/ttyS0?parity=even", "unknown option 'parity=even'")]
    [TestCase("serial:com5", "invalid serial port 'com5'")]
    [TestCase("serial:ttyS0", "invalid serial port 'ttyS0'")]
    [TestCase("pipe:", "empty pipe name")]
    [TestCase(@"pipe:\\.\pipe\", "empty pipe name")]
    [TestCase("pipe:a/b", "invalid pipe name 'a/b'")]
    [TestCase("tcp://127.0.0.1", "expected HOST:PORT")]
    [TestCase("tcp://:5", "expected HOST:PORT")]
    [TestCase("tcp://h:0", "port '0'")]
    [TestCase("tcp://h:65536", "port '65536'")]
    [TestCase("tcp://h:x", "port 'x'")]
    [TestCase("tcp:h:5", "expected tcp://HOST:PORT")]
    [TestCase("grpc://h:5/path", "no path or query")]
    [TestCase("grpc+unix:relative.sock", "absolute socket path")]
    public void TryParse_Invalid_ErrorNamesTheProblem(string text, string expected)
    {
        Assert.That(ConnectionUri.TryParse(text, out ConnectionUri? uri, out string? error), Is.False);
        Assert.That(uri, Is.Null);
        Assert.That(error, Does.Contain(expected));
    }

    [Test]
    public void Parse_Invalid_ThrowsFormatException() =>
        Assert.That(() => ConnectionUri.Parse("nope"), Throws.InstanceOf<FormatException>().With.Message.Contains("nope"));

    [Test]
    public void ToString_RoundTrips()
    {
        foreach (string text in new[] { "serial:/dev/pts/1?baud=9600", "pipe:x", "tcp://[::1]:5", "grpc://h:7", "grpc+unix:/a.sock" })
        {
            Assert.That(ConnectionUri.Parse(ConnectionUri.Parse(text).ToString()), Is.EqualTo(ConnectionUri.Parse(text)), text);
        }
    }

    [Test]
    public void OpenAsync_GrpcKind_Throws() =>
        Assert.That(async () => await ConnectionUri.Parse("grpc://h:1").OpenAsync(TimeSpan.FromSeconds(1)), Throws.InvalidOperationException);
}
