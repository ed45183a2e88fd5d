// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using HyperDbgRemote.VmxDriver.Devices;
using HyperDbgRemote.VmxDriver.Devices.Serial;
using HyperDbgRemote.VmxDriver.Tests.Devices;

namespace HyperDbgRemote.VmxDriver.Tests.Serial;

/// <summary>Each backend through its real endpoint: a pty opened as a terminal, a Unix socket, a TCP socket on
/// 127.0.0.1, a file. The test plays the guest on the UART's ports.</summary>
[Category("Serial")]
public sealed class SerialBackendTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);
    private string _dir = string.Empty;
    private RecordingLine _irq = null!;
    private Uart16550 _uart = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("hdr-serial").FullName;
        _irq = new RecordingLine();
        _uart = new Uart16550(0x3F8, _irq);
        _uart.WriteByte(0x3F9, 0x01); // IER: received data
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private void GuestSends(string text)
    {
        foreach (byte b in Encoding.ASCII.GetBytes(text))
        {
            _uart.WriteByte(0x3F8, b);
        }
    }

    private string GuestReceives(int count)
    {
        var text = new StringBuilder();
        while (text.Length < count)
        {
            Assert.That(SpinWait.SpinUntil(() => (_uart.ReadByte(0x3FD) & 0x01) != 0, s_timeout), Is.True, $"received {text.Length} of {count} bytes");
            Assert.That(_irq.High, Is.True, "data ready raises the interrupt");
            text.Append((char)_uart.ReadByte(0x3F8));
        }

        return text.ToString();
    }

    private static string ReadExactly(Stream stream, int count)
    {
        byte[] buffer = new byte[count];
        stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(s_timeout).GetAwaiter().GetResult();
        return Encoding.ASCII.GetString(buffer);
    }

    [Test]
    public void Pty_TerminalSideExchangesBytesBothWays()
    {
        // Arrange
        using PtySerialBackend pty = PtySerialBackend.Open();
        pty.Attach(_uart);
        Assert.That(pty.SlavePath, Does.StartWith("/dev/pts/"));
        Assert.That(pty.Description, Is.EqualTo("pty " + pty.SlavePath));
        using var terminal = new FileStream(pty.SlavePath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1);

        // Act / Assert: guest → terminal, raw (no CR added), and terminal → guest.
        GuestSends("login: \n");
        Assert.That(ReadExactly(terminal, 8), Is.EqualTo("login: \n"));
        terminal.Write("root\r"u8);
        terminal.Flush();
        Assert.That(GuestReceives(5), Is.EqualTo("root\r"));
    }

    [Test]
    public void Pty_NobodyConnected_OutputNeverStallsTheGuestAndDropsAreCounted()
    {
        // Arrange
        using PtySerialBackend pty = PtySerialBackend.Open();
        pty.Attach(_uart);

        // Act: more than the backend holds, with nobody on the terminal.
        GuestSends(new string('x', SerialBackend.OutputCapacity + 5000));

        // Assert
        Assert.That(_uart.ReadByte(0x3FD) & 0x60, Is.EqualTo(0x60), "the transmitter is never held");
        Assert.That(pty.DroppedBytes, Is.GreaterThanOrEqualTo(5000));
    }

    [Test]
    public void Unix_ClientExchangesBytes_AndTheSocketFileGoesAtTheEnd()
    {
        // Arrange
        string path = Path.Combine(_dir, "com1.sock");
        SocketSerialBackend backend = SocketSerialBackend.ListenUnix(path);
        backend.Attach(_uart);
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        client.Connect(new UnixDomainSocketEndPoint(path));
        using var stream = new NetworkStream(client);

        // Act / Assert
        GuestSends("HYPERDBG-INIT-OK\n");
        Assert.That(ReadExactly(stream, 17), Is.EqualTo("HYPERDBG-INIT-OK\n"));
        stream.Write("uname -a\n"u8);
        Assert.That(GuestReceives(9), Is.EqualTo("uname -a\n"));
        backend.Dispose();
        Assert.That(File.Exists(path), Is.False);
    }

    [Test]
    public void Unix_PathHoldsARegularFile_IsLeftAlone()
    {
        string path = Path.Combine(_dir, "precious.txt");
        File.WriteAllText(path, "keep me");
        Assert.That(() => SocketSerialBackend.ListenUnix(path), Throws.TypeOf<SerialBackendException>().With.Message.Contains("not a socket"));
        Assert.That(File.ReadAllText(path), Is.EqualTo("keep me"));
    }

    [Test]
    public void Tcp_LoopbackClientExchangesBytes_AndAReconnectingClientGetsWhatWasBuffered()
    {
        // Arrange: port 0 picks a free port.
        using SocketSerialBackend backend = SocketSerialBackend.ListenTcp(0);
        backend.Attach(_uart);
        Assert.That(backend.Description, Is.EqualTo($"tcp://127.0.0.1:{backend.Port}"));

        // Act: output before anyone connects is kept (up to the buffer), then a client connects.
        GuestSends("early boot\n");
        using (var client = new TcpClient())
        {
            client.Connect("127.0.0.1", backend.Port);
            NetworkStream stream = client.GetStream();
            Assert.That(ReadExactly(stream, 11), Is.EqualTo("early boot\n"));
            stream.Write("ls\n"u8);
            Assert.That(GuestReceives(3), Is.EqualTo("ls\n"));
        }

        // A second client after the first left: it is connected once the backend has seen the first one go.
        using var again = new TcpClient();
        again.Connect("127.0.0.1", backend.Port);
        Assert.That(SpinWait.SpinUntil(() => backend.ClientsAccepted == 2, s_timeout), Is.True, "the second client is taken");
        GuestSends("#");
        Assert.That(ReadExactly(again.GetStream(), 1), Is.EqualTo("#"));
    }

    [Test]
    public void Tcp_PortInUse_SaysSo()
    {
        using SocketSerialBackend first = SocketSerialBackend.ListenTcp(0);
        Assert.That(() => SocketSerialBackend.ListenTcp(first.Port), Throws.TypeOf<SerialBackendException>().With.Message.Contains($"127.0.0.1:{first.Port}"));
    }

    [Test]
    public void File_GuestOutputIsWritten()
    {
        string path = Path.Combine(_dir, "com1.log");
        using (FileSerialBackend file = FileSerialBackend.Open(path))
        {
            file.Attach(_uart);
            GuestSends("Linux version 6.1\n");
        }

        Assert.That(File.ReadAllText(path), Is.EqualTo("Linux version 6.1\n"));
    }

    [Test]
    public void File_SymlinkDirectoryDeviceOrMissingFolder_Refused()
    {
        string target = Path.Combine(_dir, "target.txt");
        File.WriteAllText(target, "keep");
        string link = Path.Combine(_dir, "link.log");
        File.CreateSymbolicLink(link, target);
        Assert.That(() => FileSerialBackend.Open(link), Throws.TypeOf<SerialBackendException>().With.Message.Contains("symbolic link"));
        Assert.That(File.ReadAllText(target), Is.EqualTo("keep"));
        Assert.That(() => FileSerialBackend.Open(_dir), Throws.TypeOf<SerialBackendException>().With.Message.Contains("is a directory"));
        Assert.That(() => FileSerialBackend.Open("/dev/null"), Throws.TypeOf<SerialBackendException>().With.Message.Contains("not a regular file"));
        Assert.That(() => FileSerialBackend.Open(Path.Combine(_dir, "no", "such.log")), Throws.TypeOf<SerialBackendException>().With.Message.Contains("does not exist"));
    }

    [Test]
    public void File_AFifo_IsRefusedWithoutBlocking()
    {
        string fifo = Path.Combine(_dir, "out.fifo");
        using (Process mkfifo = Process.Start("mkfifo", [fifo]))
        {
            mkfifo.WaitForExit();
        }

        Assert.That(() => FileSerialBackend.Open(fifo), Throws.TypeOf<SerialBackendException>().With.Message.Contains("not a regular file"));
    }
}
