// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Protocol.Tests.Support;

/// <summary>A host link and an agent link over two transports, with helpers that pump N messages each way.</summary>
internal sealed class LinkPair : IAsyncDisposable
{
    public LinkPair(ITransport hostSide, ITransport agentSide, LinkOptions hostOptions, LinkOptions agentOptions)
    {
        Host = new ReliableLink<HostToAgent, AgentToHost>(hostSide, hostOptions);
        Agent = new ReliableLink<AgentToHost, HostToAgent>(agentSide, agentOptions);
    }

    public ReliableLink<HostToAgent, AgentToHost> Host { get; }

    public ReliableLink<AgentToHost, HostToAgent> Agent { get; }

    public static LinkOptions FastOptions(bool requireAcks = true, TimeProvider? clock = null) => new()
    {
        RequireAcknowledgements = requireAcks,
        WindowSize = 32,
        RetransmitTimeout = TimeSpan.FromMilliseconds(40),
        KeepAliveInterval = TimeSpan.FromMilliseconds(100),
        DeadPeerTimeout = TimeSpan.FromSeconds(5),
        TimeProvider = clock ?? TimeProvider.System,
    };

    /// <summary>Sends <paramref name="count"/> messages each way at once; returns the elapsed time after checking exactly-once, in-order arrival.</summary>
    public async Task<TimeSpan> ExchangeAsync(int count, TimeSpan? timeout = null)
    {
        var watch = Stopwatch.StartNew();
        Task hostSend = Task.Run(async () =>
        {
            for (int i = 0; i < count; i++)
            {
                await Host.SendAsync(new HostToAgent { RequestId = (ulong)i, ReadMemory = new ReadMemoryRequest { Address = 0xFFFF_F800_0000_0000UL + (ulong)i, Length = 64 } });
            }
        });
        Task agentSend = Task.Run(async () =>
        {
            for (int i = 0; i < count; i++)
            {
                await Agent.SendAsync(new AgentToHost { Notification = new Notification { Log = new LogNotification { Level = LogLevel.Information, Text = $"message {i} \u0003\u00a5\u0096 padding to sixty bytes" } } });
            }
        });
        Task<List<ulong>> agentReceive = Task.Run(async () =>
        {
            var ids = new List<ulong>(count);
            for (int i = 0; i < count; i++)
            {
                ids.Add((await Agent.ReceiveAsync()).RequestId);
            }

            return ids;
        });
        Task<List<string>> hostReceive = Task.Run(async () =>
        {
            var texts = new List<string>(count);
            for (int i = 0; i < count; i++)
            {
                texts.Add((await Host.ReceiveAsync()).Notification.Log.Text);
            }

            return texts;
        });

        await Task.WhenAll(hostSend, agentSend, agentReceive, hostReceive).WaitAsync(timeout ?? TaskExtensions.Default);
        watch.Stop();
        Assert.That(agentReceive.Result, Is.EqualTo(Enumerable.Range(0, count).Select(i => (ulong)i)), "host to agent: exactly once, in order");
        Assert.That(hostReceive.Result, Is.EqualTo(Enumerable.Range(0, count).Select(i => $"message {i} \u0003\u00a5\u0096 padding to sixty bytes")), "agent to host: exactly once, in order");
        return watch.Elapsed;
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        await Agent.DisposeAsync();
    }
}
