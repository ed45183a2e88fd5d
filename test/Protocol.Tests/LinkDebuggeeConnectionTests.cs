// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.Protocol.Tests.Support;

namespace HyperDbgRemote.Protocol.Tests;

public sealed class LinkDebuggeeConnectionTests
{
    [Test]
    public async Task ConnectAsync_AgentAccepts_RequestsAreMatchedAndNotificationsFlow()
    {
        // Arrange: a scripted agent that answers out of order and sends a notification first
        var (a, b) = MemoryDuplex.CreateTransports(reliable: false);
        await using var agent = new ReliableLink<AgentToHost, HostToAgent>(b, LinkPair.FastOptions());
        Task agentTask = RunAgentAsync(agent, Status.Ok);

        // Act
        await using LinkDebuggeeConnection connection = await LinkDebuggeeConnection.ConnectAsync(a, options: LinkPair.FastOptions()).DefaultTimeout();
        var first = new HostToAgent { ReadMemory = new ReadMemoryRequest { Address = 0x1000, Length = 1 } };
        var second = new HostToAgent { ReadMemory = new ReadMemoryRequest { Address = 0x2000, Length = 2 } };
        Task<AgentToHost> r1 = connection.SendAsync(first);
        Task<AgentToHost> r2 = connection.SendAsync(second);
        AgentToHost[] answers = await Task.WhenAll(r1, r2).DefaultTimeout();
        Notification notification = await FirstAsync(connection.NotificationsAsync()).DefaultTimeout();

        // Assert
        Assert.That(connection.Handshake.Guest.Cores, Is.EqualTo(2));
        Assert.That(answers[0].ReadMemory.Data.ToByteArray(), Is.EqualTo(new byte[] { 0x10 }));
        Assert.That(answers[1].ReadMemory.Data.ToByteArray(), Is.EqualTo(new byte[] { 0x20, 0x20 }));
        Assert.That(first.RequestId, Is.Zero, "the caller's request is not modified");
        Assert.That(notification.Log.Text, Is.EqualTo("hello"));
        await agent.CloseAsync();
        await agentTask.DefaultTimeout();
    }

    [Test]
    public async Task ConnectAsync_AgentRefuses_ThrowsWithItsMessage()
    {
        var (a, b) = MemoryDuplex.CreateTransports(reliable: false);
        await using var agent = new ReliableLink<AgentToHost, HostToAgent>(b, LinkPair.FastOptions());
        Task agentTask = RunAgentAsync(agent, Status.IncompatibleVersion);

        Assert.That(
            async () => await LinkDebuggeeConnection.ConnectAsync(a, options: LinkPair.FastOptions()),
            Throws.InstanceOf<ConnectionException>().With.Message.Contains("version 9 is not 1"));
        await agentTask.DefaultTimeout();
    }

    [Test]
    public async Task ConnectAsync_NoAnswer_TimesOut()
    {
        var (a, _) = MemoryDuplex.CreateTransports(reliable: false);
        Assert.That(
            async () => await LinkDebuggeeConnection.ConnectAsync(a, options: LinkPair.FastOptions(), timeout: TimeSpan.FromMilliseconds(300)),
            Throws.InstanceOf<ConnectionException>().With.Message.Contains("did not answer"));
    }

    [Test]
    public async Task SendAsync_LinkLost_PendingRequestFails()
    {
        var (a, b) = MemoryDuplex.CreateTransports(reliable: false);
        var agent = new ReliableLink<AgentToHost, HostToAgent>(b, LinkPair.FastOptions());
        Task agentTask = RunAgentAsync(agent, Status.Ok, answerRequests: false);
        await using LinkDebuggeeConnection connection = await LinkDebuggeeConnection.ConnectAsync(a, options: LinkPair.FastOptions()).DefaultTimeout();
        Task<AgentToHost> pending = connection.SendAsync(new HostToAgent { Continue = new ContinueRequest() });

        await agent.CloseAsync();

        Assert.That(async () => await pending.DefaultTimeout(), Throws.InstanceOf<ConnectionException>().With.Message.Contains("closed"));
        Assert.That(async () => await connection.SendAsync(new HostToAgent()), Throws.InstanceOf<ConnectionException>());
        await agentTask.DefaultTimeout();
    }

    [Test]
    public void ConnectAsync_GrpcOrInvalidAddress_Throws()
    {
        Assert.That(async () => await LinkDebuggeeConnection.ConnectAsync("grpc://h:1"), Throws.InstanceOf<ConnectionException>().With.Message.Contains("GrpcDebuggeeConnection"));
        Assert.That(async () => await LinkDebuggeeConnection.ConnectAsync("serial:com7"), Throws.InstanceOf<ConnectionException>().With.Message.Contains("com7"));
    }

    [Test]
    public async Task NotificationsAsync_PackedScriptOutput_ArrivesAsTextsAndAMalformedOneAsAnError()
    {
        // Arrange: after the handshake the agent sends a packed batch, then one whose lengths do not add up
        var batch = new ScriptOutputNotification { Texts = { "shell tick 0001\r\n", "é€𝄞\n", string.Empty, "shell tick 0002\r\n", "last" } };
        ScriptOutputNotification packed = ScriptOutputPacking.Pack(batch.Clone());
        var malformed = new ScriptOutputNotification { Joined = Google.Protobuf.ByteString.CopyFromUtf8("abc"), Lengths = { 1, 1 } };
        var (a, b) = MemoryDuplex.CreateTransports(reliable: false);
        await using var agent = new ReliableLink<AgentToHost, HostToAgent>(b, LinkPair.FastOptions());
        Task agentTask = RunAgentAsync(agent, Status.Ok, after: [new Notification { ScriptOutput = packed }, new Notification { ScriptOutput = malformed }]);

        // Act
        await using LinkDebuggeeConnection connection = await LinkDebuggeeConnection.ConnectAsync(a, options: LinkPair.FastOptions()).DefaultTimeout();
        Notification[] received = await TakeAsync(connection.NotificationsAsync(), 3).DefaultTimeout();

        // Assert
        Assert.That(packed.Texts, Is.Empty, "the agent sent the compact form");
        Assert.That(received[1].ScriptOutput.Texts, Is.EqualTo(batch.Texts));
        Assert.That(received[1].ScriptOutput.Joined.IsEmpty && received[1].ScriptOutput.Lengths.Count == 0, Is.True);
        Assert.That(received[2].Log.Level, Is.EqualTo(LogLevel.Error));
        Assert.That(received[2].Log.Text, Does.Contain("2 text lengths add up to 2 bytes, but 3 bytes came"));
        await agent.CloseAsync();
        await agentTask.DefaultTimeout();
    }

    private static async Task RunAgentAsync(ReliableLink<AgentToHost, HostToAgent> agent, Status handshakeStatus, bool answerRequests = true, Notification[]? after = null)
    {
        var held = new List<HostToAgent>();
        await foreach (HostToAgent request in agent.ReadAllAsync())
        {
            if (request.BodyCase == HostToAgent.BodyOneofCase.Handshake)
            {
                await agent.SendAsync(new AgentToHost
                {
                    RequestId = request.RequestId,
                    Handshake = new HandshakeResponse
                    {
                        Status = handshakeStatus,
                        Message = handshakeStatus == Status.Ok ? string.Empty : "version 9 is not 1",
                        ProtocolVersion = ProtocolVersion.Current,
                        Guest = new GuestDescription { Cores = 2, Kind = "demo" },
                    },
                });
                await agent.SendAsync(new AgentToHost { Notification = new Notification { Log = new LogNotification { Text = "hello" } } });
                foreach (Notification n in after ?? [])
                {
                    await agent.SendAsync(new AgentToHost { Notification = n });
                }

                continue;
            }

            if (!answerRequests)
            {
                continue;
            }

            // Answer two read requests in reverse order.
            held.Add(request);
            if (held.Count == 2)
            {
                foreach (HostToAgent r in Enumerable.Reverse(held))
                {
                    byte fill = (byte)(r.ReadMemory.Address >> 8);
                    await agent.SendAsync(new AgentToHost
                    {
                        RequestId = r.RequestId,
                        ReadMemory = new ReadMemoryResponse { Status = Status.Ok, Data = Google.Protobuf.ByteString.CopyFrom(Enumerable.Repeat(fill, (int)r.ReadMemory.Length).ToArray()) },
                    });
                }

                held.Clear();
            }
        }
    }

    private static async Task<T[]> TakeAsync<T>(IAsyncEnumerable<T> source, int count)
    {
        var items = new List<T>(count);
        await foreach (T item in source)
        {
            items.Add(item);
            if (items.Count == count)
            {
                break;
            }
        }

        return [.. items];
    }

    private static async Task<T> FirstAsync<T>(IAsyncEnumerable<T> source)
    {
        await foreach (T item in source)
        {
            return item;
        }

        throw new InvalidOperationException("the stream ended");
    }
}
