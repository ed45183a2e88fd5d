// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Net;
using System.Net.Sockets;
using HyperDbgRemote.Protocol.Tests.Support;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Protocol.Tests;

/// <summary>The link over real transports: a socat pty pair, a Unix socket, a .NET named pipe and TCP on 127.0.0.1.</summary>
public sealed class TransportTests
{
    private const int Messages = 1000;

    [Test]
    public async Task SerialTransport_SocatPtyPair_CarriesTheLink()
    {
        // Arrange
        using SocatPtyPair? pty = await SocatPtyPair.StartAsync();
        if (pty is null)
        {
            Assert.Ignore("skipped: socat is not installed");
        }

        await using SerialTransport hostSide = SerialTransport.Open(pty.First, 115200);
        await using SerialTransport agentSide = SerialTransport.Open(pty.Second, 115200);
        Assert.That(hostSide.Description, Does.Contain(pty.First).And.Contain("115200"));
        Assert.That(hostSide.BytesPerSecond, Is.EqualTo(11520));
        var breakIn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Act
        await using (var pair = new LinkPair(hostSide, agentSide, LinkPair.FastOptions(), LinkPair.FastOptions()))
        {
            pair.Agent.BreakInReceived += (_, _) => breakIn.TrySetResult();
            await pair.ExchangeAsync(Messages);
            pair.Host.SendBreakIn();

            // Assert
            await breakIn.Task.DefaultTimeout();
            Assert.That(pair.Host.GetStatistics().CorruptFrames, Is.Zero);
        }
    }

    [Test]
    public async Task SerialTransport_SocatDies_BothLinksClose()
    {
        // Arrange
        SocatPtyPair? pty = await SocatPtyPair.StartAsync();
        if (pty is null)
        {
            Assert.Ignore("skipped: socat is not installed");
        }

        await using SerialTransport hostSide = SerialTransport.Open(pty.First, 115200);
        await using SerialTransport agentSide = SerialTransport.Open(pty.Second, 115200);
        await using var pair = new LinkPair(hostSide, agentSide, LinkPair.FastOptions(), LinkPair.FastOptions());
        await pair.ExchangeAsync(10);

        // Act: the line goes away (the pty pair hangs up)
        pty.Dispose();

        // Assert
        Assert.That(async () => await pair.Host.Completion.DefaultTimeout(), Throws.InstanceOf<LinkClosedException>());
        Assert.That(async () => await pair.Agent.Completion.DefaultTimeout(), Throws.InstanceOf<LinkClosedException>());
    }

    [Test]
    public void SerialTransport_MissingDevice_ErrorNamesIt()
    {
        Assert.That(SerialTransport.TryOpen("/dev/does-not-exist", 115200, out _, out string? error), Is.False);
        Assert.That(error, Does.Contain("/dev/does-not-exist").And.Contain("does not exist"));
        Assert.That(SerialTransport.TryOpen("/dev/null", 12345, out _, out error), Is.False);
        Assert.That(error, Does.Contain("12345"));
        Assert.That(() => SerialTransport.Open("com9"), Throws.InstanceOf<IOException>().With.Message.Contains("com9"));
    }

    [Test]
    public void SerialTransport_ComNames_MapToDevices()
    {
        Assert.That(SerialTransport.TryResolvePortName("COM1", out string? device, out _), Is.True);
        Assert.That(device, Is.EqualTo(OperatingSystem.IsWindows() ? "COM1" : "/dev/ttyS0"));
    }

    [Test]
    public async Task NamedPipeTransport_UnixSocketPath_CarriesTheLink()
    {
        string path = Path.Combine(Path.GetTempPath(), $"hdr-{Guid.NewGuid():N}.sock");
        try
        {
            using NamedPipeListener listener = NamedPipeListener.Start(path);
            Task<NamedPipeTransport> server = listener.AcceptAsync();
            await using NamedPipeTransport client = await NamedPipeTransport.ConnectAsync(path, TimeSpan.FromSeconds(5)).DefaultTimeout();
            await using NamedPipeTransport agentSide = await server.DefaultTimeout();
            Assert.That(client.IsReliable, Is.True);

            await using var pair = new LinkPair(client, agentSide, LinkPair.FastOptions(requireAcks: false), LinkPair.FastOptions(requireAcks: false));
            await pair.ExchangeAsync(Messages);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public async Task NamedPipeTransport_WindowsStyleName_CarriesTheLink()
    {
        string name = $"hdr-{Guid.NewGuid():N}";
        using NamedPipeListener listener = NamedPipeListener.Start(name);
        Task<NamedPipeTransport> server = listener.AcceptAsync();
        await using NamedPipeTransport client = await NamedPipeTransport.ConnectAsync(NamedPipeTransport.WindowsPipePrefix + name, TimeSpan.FromSeconds(5)).DefaultTimeout();
        await using NamedPipeTransport agentSide = await server.DefaultTimeout();

        await using var pair = new LinkPair(client, agentSide, LinkPair.FastOptions(), LinkPair.FastOptions());
        await pair.ExchangeAsync(Messages);
    }

    [Test]
    public async Task NamedPipeListener_TwentyClientsAtOnce_AllConnect()
    {
        string path = Path.Combine(Path.GetTempPath(), $"hdr-{Guid.NewGuid():N}.sock");
        using NamedPipeListener listener = NamedPipeListener.Start(path);
        Task<NamedPipeTransport>[] clients = [.. Enumerable.Range(0, 20).Select(_ => NamedPipeTransport.ConnectAsync(path, TimeSpan.FromSeconds(10)))];
        var accepted = new List<NamedPipeTransport>();
        for (int i = 0; i < 20; i++)
        {
            accepted.Add(await listener.AcceptAsync().DefaultTimeout());
        }

        NamedPipeTransport[] connected = await Task.WhenAll(clients).DefaultTimeout();
        Assert.That(connected, Has.Length.EqualTo(20));
        foreach (NamedPipeTransport t in connected.Concat(accepted))
        {
            await t.DisposeAsync();
        }
    }

    [Test]
    public void NamedPipeListener_RegularFileAtThePath_RefusedAndTheFileKept()
    {
        string path = Path.Combine(Path.GetTempPath(), $"hdr-{Guid.NewGuid():N}.sock");
        File.WriteAllText(path, "precious");
        try
        {
            Assert.That(() => NamedPipeListener.Start(path), Throws.InstanceOf<IOException>().With.Message.Contains("is not a socket"));
            Assert.That(File.ReadAllText(path), Is.EqualTo("precious"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void NamedPipeListener_PathOfALiveListener_Refused()
    {
        string path = Path.Combine(Path.GetTempPath(), $"hdr-{Guid.NewGuid():N}.sock");
        using NamedPipeListener first = NamedPipeListener.Start(path);

        Assert.That(() => NamedPipeListener.Start(path), Throws.InstanceOf<IOException>().With.Message.Contains("in use"));
    }

    [Test]
    public void NamedPipeListener_StaleSocketFile_Replaced()
    {
        string path = Path.Combine(Path.GetTempPath(), $"hdr-{Guid.NewGuid():N}.sock");
        using (var stale = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified))
        {
            stale.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(path)); // bound, never listening, then closed: the file stays
        }

        using NamedPipeListener listener = NamedPipeListener.Start(path);
        Assert.That(listener.Name, Is.EqualTo(path));
    }

    [Test]
    public void NamedPipeTransport_NobodyListening_ErrorNamesThePath()
    {
        string path = Path.Combine(Path.GetTempPath(), $"hdr-missing-{Guid.NewGuid():N}.sock");
        Assert.That(async () => await NamedPipeTransport.ConnectAsync(path, TimeSpan.FromMilliseconds(200)), Throws.InstanceOf<IOException>().With.Message.Contains(path));
    }

    [Test]
    public async Task TcpTransport_Loopback_CarriesTheLink()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            Task<TcpTransport> server = TcpTransport.AcceptAsync(listener);
            var uri = ConnectionUri.Parse($"tcp://127.0.0.1:{port}");
            await using ITransport client = await uri.OpenAsync(TimeSpan.FromSeconds(5)).DefaultTimeout();
            await using TcpTransport agentSide = await server.DefaultTimeout();

            await using var pair = new LinkPair(client, agentSide, LinkPair.FastOptions(requireAcks: false), LinkPair.FastOptions(requireAcks: false));
            await pair.ExchangeAsync(Messages);
        }
        finally
        {
            listener.Stop();
        }
    }

    [Test]
    public async Task TcpTransport_PeerDisappears_LinkCloses()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            Task<TcpTransport> server = TcpTransport.AcceptAsync(listener);
            TcpTransport client = await TcpTransport.ConnectAsync("127.0.0.1", ((IPEndPoint)listener.LocalEndpoint).Port, TimeSpan.FromSeconds(5)).DefaultTimeout();
            await using TcpTransport agentSide = await server.DefaultTimeout();
            await using var link = new ReliableLink<Messages.HostToAgent, Messages.AgentToHost>(agentSide);

            await client.CloseAsync();

            Assert.That(async () => await link.Completion.DefaultTimeout(), Throws.InstanceOf<LinkClosedException>());
        }
        finally
        {
            listener.Stop();
        }
    }

}
