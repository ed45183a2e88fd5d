// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Agent.Wire;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.Tests.Shared;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Guests;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using HaltReason = HyperDbgRemote.Protocol.Messages.HaltReason;
using Status = HyperDbgRemote.Protocol.Messages.Status;

namespace HyperDbgRemote.Agent.Tests;

[Category("EndToEnd")]
public sealed class GrpcEndToEndTests
{
    private sealed class Agent : IAsyncDisposable
    {
        private readonly NotificationHub _hub;
        private readonly GrpcEndpoint _endpoint;

        private Agent(DebuggeeSession session, NotificationHub hub, GrpcEndpoint endpoint)
        {
            Session = session;
            _hub = hub;
            _endpoint = endpoint;
        }

        public DebuggeeSession Session { get; }

        public IReadOnlyList<string> Addresses => _endpoint.Addresses;

        public static async Task<Agent> StartAsync(string? token = null, string? unixSocket = null)
        {
            DebuggeeSession session = TestPrograms.OutLoopSession();
            var hub = new NotificationHub(session);
            List<ListenUri> uris = [ListenUri.Parse("grpc://127.0.0.1:0")];
            if (unixSocket is not null)
            {
                uris.Add(ListenUri.Parse("grpc+unix:" + unixSocket));
            }

            GrpcEndpoint endpoint = await GrpcEndpoint.StartAsync(uris, new RequestDispatcher(session, null), hub, new AgentSecurity(token, null, null), HyperDbgRemote.Protocol.ProtocolLimits.Default);
            session.Start();
            return new Agent(session, hub, endpoint);
        }

        public async ValueTask DisposeAsync()
        {
            await _endpoint.DisposeAsync();
            await _hub.DisposeAsync();
            Session.Dispose();
        }
    }

    private static async Task<T> Next<T>(IAsyncEnumerator<Notification> e, Func<Notification, T?> pick)
        where T : class
    {
        while (await e.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)))
        {
            if (pick(e.Current) is T t)
            {
                return t;
            }
        }

        throw new AssertionException("the notification stream ended");
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task BreakOnPort80_HaltedNotification_RegistersAndContinue(bool unix)
    {
        // Arrange
        string socket = Path.Combine(Path.GetTempPath(), $"hdr-grpc-{Guid.NewGuid():N}.sock");
        await using Agent agent = await Agent.StartAsync(unixSocket: unix ? socket : null);
        string uri = unix ? "grpc+unix:" + socket : agent.Addresses[0];
        await using GrpcDebuggeeConnection c = await GrpcDebuggeeConnection.ConnectAsync(uri);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using IAsyncEnumerator<Notification> notes = c.NotificationsAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.That(c.Handshake.Guest.Cores, Is.EqualTo(1));

        // Act
        AgentToHost reg = await c.SendAsync(new HostToAgent { RequestId = 1, RegisterEvent = new RegisterEventRequest { Event = new EventRegistration { Direction = IoDirection.Out, Port = 0x80, Immediate = true, CommandText = "!ioout 80" } } });
        HaltedNotification halt = await Next(notes, n => n.Halted);
        AgentToHost regs = await c.SendAsync(new HostToAgent { RequestId = 2, ReadRegisters = new ReadRegistersRequest { Core = 0 } });
        AgentToHost write = await c.SendAsync(new HostToAgent { RequestId = 3, WriteRegister = new WriteRegisterRequest { Name = "al", Value = 0x42 } });
        AgentToHost clear = await c.SendAsync(new HostToAgent { RequestId = 4, ModifyEvent = new ModifyEventRequest { Action = EventAction.Clear } });
        AgentToHost go = await c.SendAsync(new HostToAgent { RequestId = 5, Continue = new ContinueRequest() });
        await Next(notes, n => n.Running);
        await Eventually.UntilAsync(() => agent.Session.Devices.PostCode.Writes > 1, "the guest runs on and writes port 80 again");

        // Assert
        Assert.That(reg.RequestId, Is.EqualTo(1));
        Assert.That(reg.RegisterEvent.Status, Is.EqualTo(Status.Ok), reg.RegisterEvent.Message);
        Assert.That((halt.Reason, halt.EventId, halt.Port, halt.Disassembly), Is.EqualTo((HaltReason.Event, 0u, 0x80u, "out 80h,al")));
        Assert.That(halt.Registers.Values["rax"] & 0xFF, Is.EqualTo((ulong)'Z'));
        Assert.That(regs.ReadRegisters.Registers.Values["rip"], Is.EqualTo(0x10002));
        Assert.That((write.WriteRegister.Status, clear.ModifyEvent.Status, go.Continue.Status), Is.EqualTo((Status.Ok, Status.Ok, Status.Ok)));
        Assert.That(agent.Session.Devices.PostCode.Writes, Is.GreaterThan(1));
    }

    [Test]
    public async Task Requests_BadInput_StatusNamesTheProblem()
    {
        await using Agent agent = await Agent.StartAsync();
        await using GrpcDebuggeeConnection c = await GrpcDebuggeeConnection.ConnectAsync(agent.Addresses[0]);

        AgentToHost port = await c.SendAsync(new HostToAgent { RegisterEvent = new RegisterEventRequest { Event = new EventRegistration { Direction = IoDirection.Out, Port = 0x10000 } } });
        AgentToHost notHalted = await c.SendAsync(new HostToAgent { ReadRegisters = new ReadRegistersRequest() });
        AgentToHost tooLong = await c.SendAsync(new HostToAgent { ReadMemory = new ReadMemoryRequest { Length = 1 << 20, Physical = true } });
        AgentToHost empty = await c.SendAsync(new HostToAgent());
        AgentToHost virtualRead = await c.SendAsync(new HostToAgent { ReadMemory = new ReadMemoryRequest { Address = 0x10000, Length = 16 } });
        AgentToHost disassemble = await c.SendAsync(new HostToAgent { Disassemble = new DisassembleRequest { Address = 0x10000, Count = 1 } });

        Assert.That((port.RegisterEvent.Status, port.RegisterEvent.Message), Is.EqualTo((Status.InvalidArgument, "port 10000 is out of range: ports are 0 to ffff.")));
        Assert.That(notHalted.ReadRegisters.Status, Is.EqualTo(Status.NotHalted));
        Assert.That(tooLong.ReadMemory.Status, Is.EqualTo(Status.LimitExceeded));
        Assert.That(empty.Notification.Log.Text, Does.Contain("no body"));
        Assert.That((virtualRead.ReadMemory.Status, disassemble.Disassemble.Status), Is.EqualTo((Status.NotHalted, Status.NotHalted)), "the agent itself refuses what would call into the running engine");
    }

    [Test]
    public async Task Token_WrongOrMissing_Refused()
    {
        await using Agent agent = await Agent.StartAsync(token: "s3cret");

        Assert.That(async () => await GrpcDebuggeeConnection.ConnectAsync(agent.Addresses[0], "wrong"), Throws.TypeOf<ConnectionException>().With.Message.Contains("Unauthenticated"));
        Assert.That(async () => await GrpcDebuggeeConnection.ConnectAsync(agent.Addresses[0]), Throws.TypeOf<ConnectionException>().With.Message.Contains("Unauthenticated"));
        await using GrpcDebuggeeConnection ok = await GrpcDebuggeeConnection.ConnectAsync(agent.Addresses[0], "s3cret");
        Assert.That(ok.Handshake.Status, Is.EqualTo(Status.Ok));
    }

    [Test]
    public void Listen_BeyondLoopbackWithoutTls_Refused()
    {
        Assert.That(
            async () => await GrpcEndpoint.StartAsync([ListenUri.Parse("grpc://0.0.0.0:0")], null!, null!, new AgentSecurity("t", null, null), HyperDbgRemote.Protocol.ProtocolLimits.Default),
            Throws.InvalidOperationException.With.Message.Contains("requires TLS"));
    }

    [Test]
    public async Task Handshake_OtherProtocolVersion_Refused()
    {
        await using Agent agent = await Agent.StartAsync();
        var channel = Grpc.Net.Client.GrpcChannel.ForAddress(agent.Addresses[0].Replace("grpc://", "http://", StringComparison.Ordinal));
        var client = new DebuggeeService.DebuggeeServiceClient(channel);
        HandshakeResponse r = await client.HandshakeAsync(new HandshakeRequest { ProtocolVersion = 99 });
        channel.Dispose();
        Assert.That((r.Status, r.Message), Is.EqualTo((Status.IncompatibleVersion, "protocol version 99 is not supported: this agent speaks version 2.")));
    }
}
