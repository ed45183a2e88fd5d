// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Google.Protobuf;
using HyperDbgRemote.Protocol.Internal;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.Protocol.Tests.Support;
using HyperDbgRemote.Tests.Shared;
using Microsoft.Extensions.Time.Testing;

namespace HyperDbgRemote.Protocol.Tests;

public sealed class ReliableLinkTests
{
    [Test]
    public async Task Exchange_CleanStreamWithAcks_DeliversEverythingOnceInOrder()
    {
        var (a, b) = MemoryDuplex.CreateTransports(reliable: false);
        await using var pair = new LinkPair(a, b, LinkPair.FastOptions(), LinkPair.FastOptions());

        await pair.ExchangeAsync(10_000);

        LinkStatistics stats = pair.Host.GetStatistics();
        Assert.That(stats.MessagesSent, Is.EqualTo(10_000));
        Assert.That(stats.MessagesDelivered, Is.EqualTo(10_000));
        Assert.That(stats.CorruptFrames + stats.HeaderErrors + stats.GarbageBytes, Is.Zero);
    }

    [Test]
    public async Task Exchange_AcknowledgementFreeMode_DeliversEverythingWithoutAckFrames()
    {
        var (a, b) = MemoryDuplex.CreateTransports(reliable: true);
        await using var pair = new LinkPair(a, b, LinkPair.FastOptions(requireAcks: false), LinkPair.FastOptions(requireAcks: false));

        await pair.ExchangeAsync(10_000);

        LinkStatistics stats = pair.Host.GetStatistics();
        Assert.That(stats.Retransmissions, Is.Zero);
        Assert.That(stats.FramesSent, Is.LessThan(10_000 + 100), "no acknowledgement per frame");
        Assert.That(stats.LostFrames, Is.Zero);
    }

    [Test]
    public async Task Exchange_AcknowledgementFreeModeOnLossyLine_CountsLossesAndKeepsOrder()
    {
        // Arrange: ACK-free senders on a line that corrupts bits (a misconfiguration the statistics must reveal)
        var faults = new FaultInjector(3) { BitErrorRate = 1e-4 };
        var (a, b) = MemoryDuplex.CreateTransports(reliable: true, faults);
        await using var pair = new LinkPair(a, b, LinkPair.FastOptions(requireAcks: false), LinkPair.FastOptions(requireAcks: false));

        // Act
        var received = new List<ulong>();
        for (int i = 0; i < 2000; i++)
        {
            await pair.Host.SendAsync(new HostToAgent { RequestId = (ulong)i, ReadMemory = new ReadMemoryRequest { Length = 64 } });
        }

        // Several end markers: one of them may be corrupted too.
        for (int i = 0; i < 5; i++)
        {
            await pair.Host.SendAsync(new HostToAgent { RequestId = ulong.MaxValue });
        }

        while (true)
        {
            ulong id = (await pair.Agent.ReceiveAsync().DefaultTimeout()).RequestId;
            if (id == ulong.MaxValue)
            {
                break;
            }

            received.Add(id);
        }

        // Assert
        LinkStatistics stats = pair.Agent.GetStatistics();
        Assert.That(received, Is.Ordered.And.Unique);
        Assert.That(stats.CorruptFrames + stats.HeaderErrors, Is.GreaterThan(0));
        Assert.That(received.Count + stats.LostFrames, Is.InRange(2000, 2004), "every frame is either delivered or counted lost");
    }

    [Test]
    public void Constructor_DefaultOptions_FollowTransportReliability()
    {
        var (a, b) = MemoryDuplex.CreateTransports(reliable: true);
        Assert.That(a.IsReliable, Is.True);
        _ = b;
    }

    [Test]
    public async Task SendAsync_MessageBeyondMessageLimit_Throws()
    {
        var (a, b) = MemoryDuplex.CreateTransports(reliable: false);
        LinkOptions options = LinkPair.FastOptions();
        options = new LinkOptions { Limits = new ProtocolLimits { MaxMessageBytes = 2048 }, RetransmitTimeout = options.RetransmitTimeout };
        await using var pair = new LinkPair(a, b, options, LinkPair.FastOptions());

        var big = new HostToAgent { WriteMemory = new WriteMemoryRequest { Data = Google.Protobuf.ByteString.CopyFrom(new byte[3000]) } };

        Assert.That(async () => await pair.Host.SendAsync(big), Throws.ArgumentException.With.Message.Contains("2048"));
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task SendAsync_MessagesLargerThanAFrame_ArriveWholeAndInOrder(bool requireAcks)
    {
        // Arrange: 256-byte frames, and messages from 1 byte to 20 frames long, sent from two tasks at once
        var (a, b) = MemoryDuplex.CreateTransports(reliable: !requireAcks);
        LinkOptions fast = LinkPair.FastOptions(requireAcks);
        var small = new LinkOptions { RequireAcknowledgements = requireAcks, Limits = new ProtocolLimits { MaxFramePayload = 256 }, RetransmitTimeout = fast.RetransmitTimeout };
        await using var pair = new LinkPair(a, b, small, small);
        int[] sizes = [1, 255, 256, 257, 5000, 20 * 256, 3];

        // Act
        Task first = Task.Run(async () =>
        {
            foreach (int size in sizes)
            {
                await pair.Host.SendAsync(new HostToAgent { RequestId = (ulong)size, WriteMemory = new WriteMemoryRequest { Data = Google.Protobuf.ByteString.CopyFrom(Pattern(size)) } });
            }
        });
        Task second = Task.Run(async () =>
        {
            foreach (int size in sizes)
            {
                await pair.Host.SendAsync(new HostToAgent { RequestId = 1_000_000 + (ulong)size, WriteMemory = new WriteMemoryRequest { Data = Google.Protobuf.ByteString.CopyFrom(Pattern(size)) } });
            }
        });
        var received = new List<HostToAgent>();
        for (int i = 0; i < 2 * sizes.Length; i++)
        {
            received.Add(await pair.Agent.ReceiveAsync().DefaultTimeout());
        }

        await Task.WhenAll(first, second).DefaultTimeout();

        // Assert: each message whole, each sender's messages in its order
        foreach (HostToAgent m in received)
        {
            int size = (int)(m.RequestId % 1_000_000);
            Assert.That(m.WriteMemory.Data.ToByteArray(), Is.EqualTo(Pattern(size)), $"message {m.RequestId}");
        }

        Assert.That(received.Where(m => m.RequestId < 1_000_000).Select(m => (int)m.RequestId), Is.EqualTo(sizes));
        Assert.That(received.Where(m => m.RequestId >= 1_000_000).Select(m => (int)(m.RequestId - 1_000_000)), Is.EqualTo(sizes));
        Assert.That(pair.Host.GetStatistics().FramesSent, Is.GreaterThan(40), "the large messages were split");
    }

    [Test]
    public async Task Receive_FragmentsBeyondTheMessageLimit_AreDroppedAndCounted()
    {
        // Arrange: a receiver that takes at most 1 KiB, a sender that allows 8 KiB
        var (a, b) = MemoryDuplex.CreateTransports(reliable: false);
        LinkOptions fast = LinkPair.FastOptions();
        var sender = new LinkOptions { Limits = new ProtocolLimits { MaxFramePayload = 256, MaxMessageBytes = 8192 }, RetransmitTimeout = fast.RetransmitTimeout };
        var receiver = new LinkOptions { Limits = new ProtocolLimits { MaxFramePayload = 256, MaxMessageBytes = 1024 }, RetransmitTimeout = fast.RetransmitTimeout };
        await using var pair = new LinkPair(a, b, sender, receiver);

        // Act: an oversized message between two that fit
        await pair.Host.SendAsync(new HostToAgent { RequestId = 1 });
        await pair.Host.SendAsync(new HostToAgent { RequestId = 2, WriteMemory = new WriteMemoryRequest { Data = Google.Protobuf.ByteString.CopyFrom(new byte[4000]) } });
        await pair.Host.SendAsync(new HostToAgent { RequestId = 3 });

        // Assert
        Assert.That((await pair.Agent.ReceiveAsync().DefaultTimeout()).RequestId, Is.EqualTo(1));
        Assert.That((await pair.Agent.ReceiveAsync().DefaultTimeout()).RequestId, Is.EqualTo(3));
        Assert.That(pair.Agent.GetStatistics().OversizedMessages, Is.EqualTo(1));
    }

    [Test]
    public async Task Receive_FramesOfAnEarlierSession_AreNotTakenForTheNewOne()
    {
        // Arrange: frames a dead peer left in the line (its DATA frames, keyed with its session), then a new peer
        var (a, b) = MemoryDuplex.CreatePair();
        await using var link = new ReliableLink<AgentToHost, HostToAgent>(new StreamTransport(a, "memory", false), LinkPair.FastOptions());
        var stale = new RawPeer(b, 0x1111);
        uint staleState = SessionKey.CrcState(0x1111, 0x2222);
        for (byte seq = 0; seq < 5; seq++)
        {
            await stale.WriteAsync(FrameCodec.Encode(FrameType.Data, 0, seq, 0, new HostToAgent { RequestId = 666 }.ToByteArray(), staleState));
        }

        // Act: the new peer's handshake and one message
        var peer = new RawPeer(b, 0x3333);
        await peer.HandshakeAsync();
        await peer.WriteAsync(FrameCodec.Encode(FrameType.Data, 0, 0, 0, new HostToAgent { RequestId = 7 }.ToByteArray(), peer.SessionState));

        // Assert: only the new session's message is delivered
        Assert.That((await link.ReceiveAsync().DefaultTimeout()).RequestId, Is.EqualTo(7));
        Assert.That(link.GetStatistics().CorruptFrames, Is.EqualTo(5), "the stale frames failed the session's check");
    }

    [Test]
    public async Task Reset_AddressedToAnotherNonce_IsIgnored()
    {
        // Arrange: a RESET an earlier peer addressed to an earlier incarnation of this side
        var (a, b) = MemoryDuplex.CreatePair();
        await using var link = new ReliableLink<AgentToHost, HostToAgent>(new StreamTransport(a, "memory", false), LinkPair.FastOptions());
        var peer = new RawPeer(b, 0x5555);
        await peer.WriteAsync(RawPeer.Reset(0x4444, 0x9999));

        // Act
        await peer.HandshakeAsync();
        await link.Established.DefaultTimeout();

        // Assert
        Assert.That(link.GetStatistics().StaleResets, Is.EqualTo(1));
    }

    private static byte[] Pattern(int size) => [.. Enumerable.Range(0, size).Select(i => (byte)(i * 7 + size))];

    [Test]
    public async Task KeepAlive_PeerGoesSilent_DetectedWithinTwoSeconds()
    {
        // Arrange: a peer that completes the session handshake and then sends nothing, on a fake clock with the default timeouts
        var clock = new FakeTimeProvider();
        var (a, b) = MemoryDuplex.CreatePair();
        var link = new ReliableLink<HostToAgent, AgentToHost>(new StreamTransport(a, "memory", false), new LinkOptions { TimeProvider = clock });
        await new RawPeer(b, 0x1234).HandshakeAsync();
        await link.Established.DefaultTimeout();

        // Act: advance in 50 ms steps until the link gives up
        TimeSpan elapsed = await AdvanceUntilCompletedAsync(clock, link.Completion, TimeSpan.FromSeconds(5));

        // Assert
        Assert.That(link.Completion.IsFaulted, Is.True);
        Assert.That(elapsed, Is.LessThanOrEqualTo(TimeSpan.FromSeconds(2)));
        Assert.That(link.Completion.Exception!.InnerException, Is.InstanceOf<LinkClosedException>().With.Message.Contains("considered dead"));
        Assert.That(async () => await link.ReceiveAsync(), Throws.InstanceOf<LinkClosedException>());
        await link.DisposeAsync();
    }

    [Test]
    public async Task ConnectTimeout_NoPeerEver_ClosesAfterTheTimeout()
    {
        var clock = new FakeTimeProvider();
        var (a, _) = MemoryDuplex.CreateTransports(reliable: false);
        var link = new ReliableLink<HostToAgent, AgentToHost>(a, new LinkOptions { TimeProvider = clock, ConnectTimeout = TimeSpan.FromSeconds(3) });

        TimeSpan elapsed = await AdvanceUntilCompletedAsync(clock, link.Completion, TimeSpan.FromSeconds(10));

        Assert.That(elapsed, Is.EqualTo(TimeSpan.FromSeconds(3)).Within(TimeSpan.FromMilliseconds(150)));
        Assert.That(link.Completion.Exception!.InnerException, Is.InstanceOf<LinkClosedException>().With.Message.Contains("no peer answered"));
        Assert.That(link.GetStatistics().FramesSent, Is.GreaterThan(5), "the RESET is resent while waiting");
        await link.DisposeAsync();
    }

    [Test]
    public async Task ConnectTimeout_Default_WaitsForThePeerForever()
    {
        var clock = new FakeTimeProvider();
        var (a, _) = MemoryDuplex.CreateTransports(reliable: false);
        await using var link = new ReliableLink<HostToAgent, AgentToHost>(a, new LinkOptions { TimeProvider = clock });

        TimeSpan elapsed = await AdvanceUntilCompletedAsync(clock, link.Completion, TimeSpan.FromSeconds(30));

        Assert.That(elapsed, Is.EqualTo(TimeSpan.FromSeconds(30)));
        Assert.That(link.Completion.IsCompleted, Is.False);
    }

    [Test]
    public async Task KeepAlive_IdleButLivePeers_StayConnected()
    {
        // Arrange: two idle links on one fake clock with short keep-alives; three dead-peer timeouts of idle time pass
        var clock = new FakeTimeProvider();
        var (a, b) = MemoryDuplex.CreateTransports(reliable: false);
        var options = new LinkOptions { KeepAliveInterval = TimeSpan.FromMilliseconds(100), DeadPeerTimeout = TimeSpan.FromMilliseconds(1200), TimeProvider = clock };
        await using var pair = new LinkPair(a, b, options, options);
        await Task.WhenAll(pair.Host.Established, pair.Agent.Established).DefaultTimeout();

        // Act: advance a keep-alive interval at a time, each time until both sides have received the other's keep-alive
        for (int step = 0; step < 36; step++)
        {
            long hostHeard = pair.Host.GetStatistics().BytesReceived;
            long agentHeard = pair.Agent.GetStatistics().BytesReceived;
            clock.Advance(TimeSpan.FromMilliseconds(100));
            await Eventually.UntilAsync(
                () => pair.Host.GetStatistics().BytesReceived > hostHeard && pair.Agent.GetStatistics().BytesReceived > agentHeard,
                $"step {step}: both sides heard a keep-alive");
        }

        // Assert
        Assert.That(pair.Host.Completion.IsCompleted, Is.False);
        Assert.That(pair.Agent.Completion.IsCompleted, Is.False);
        Assert.That(pair.Host.GetStatistics().KeepAlivesSent, Is.GreaterThan(10));
    }

    [Test]
    public async Task DeadPeer_ATimeWhenThisProcessRanNoTimer_IsNotThePeersSilence()
    {
        // Arrange: an established pair on a clock whose timers run only when fired; the agent's timer is its second
        var clock = new ManualTimerClock();
        var (a, b) = MemoryDuplex.CreateTransports(reliable: false);
        var options = new LinkOptions { KeepAliveInterval = TimeSpan.FromMilliseconds(400), DeadPeerTimeout = TimeSpan.FromMilliseconds(1500), TimeProvider = clock };
        await using var pair = new LinkPair(a, b, options, options);
        await Task.WhenAll(pair.Host.Established, pair.Agent.Established).DefaultTimeout();
        ManualTimerClock.ManualTimer agentTimer = clock.Timers[1];

        // Act: five seconds in which no timer of this process ran (a starved thread pool, a stopped process), then a tick
        clock.Pass(TimeSpan.FromSeconds(5));
        agentTimer.Fire();

        // Assert: not dead; but silence while its timer runs on time still ends the link after the dead-peer timeout
        Assert.That(pair.Agent.Completion.IsCompleted, Is.False, "a stall of this process was taken for the peer's silence");
        for (int i = 0; i < 20 && !pair.Agent.Completion.IsCompleted; i++)
        {
            clock.Pass(TimeSpan.FromMilliseconds(100));
            agentTimer.Fire();
        }

        Assert.That(async () => await pair.Agent.Completion.DefaultTimeout(), Throws.InstanceOf<LinkClosedException>().With.Message.Contains("considered dead"));
    }

    [Test]
    public async Task CloseAsync_Graceful_PeerCompletesAndReceiveThrows()
    {
        var (a, b) = MemoryDuplex.CreateTransports(reliable: false);
        var pair = new LinkPair(a, b, LinkPair.FastOptions(), LinkPair.FastOptions());
        await pair.Host.SendAsync(new HostToAgent { RequestId = 5 });
        Assert.That((await pair.Agent.ReceiveAsync().DefaultTimeout()).RequestId, Is.EqualTo(5));

        await pair.Host.CloseAsync().DefaultTimeout();

        await pair.Agent.Completion.DefaultTimeout();
        Assert.That(async () => await pair.Agent.ReceiveAsync(), Throws.InstanceOf<LinkClosedException>());
        Assert.That(async () => await pair.Host.SendAsync(new HostToAgent()), Throws.InstanceOf<LinkClosedException>());
        await pair.DisposeAsync();
    }

    [Test]
    public async Task Completion_TransportEnds_FaultsWithLinkClosed()
    {
        var (a, b) = MemoryDuplex.CreateTransports(reliable: false);
        var link = new ReliableLink<HostToAgent, AgentToHost>(a, LinkPair.FastOptions());

        await b.CloseAsync();

        Assert.That(async () => await link.Completion.DefaultTimeout(), Throws.InstanceOf<LinkClosedException>().With.Message.Contains("closed the connection"));
        await link.DisposeAsync();
    }

    [Test]
    public async Task SendBreakIn_BetweenFrames_PeerRaisesEvent()
    {
        var (a, b) = MemoryDuplex.CreateTransports(reliable: false);
        await using var pair = new LinkPair(a, b, LinkPair.FastOptions(), LinkPair.FastOptions());
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        pair.Agent.BreakInReceived += (_, _) => seen.TrySetResult();
        await pair.Host.SendAsync(new HostToAgent { RequestId = 1 });
        await pair.Agent.ReceiveAsync().DefaultTimeout();

        pair.Host.SendBreakIn();
        await pair.Host.SendAsync(new HostToAgent { RequestId = 2, Pause = new PauseRequest() });

        await seen.Task.DefaultTimeout();
        Assert.That((await pair.Agent.ReceiveAsync().DefaultTimeout()).Pause, Is.Not.Null);
        Assert.That(pair.Agent.GetStatistics().BreakInsReceived, Is.EqualTo(1));
    }

    [Test]
    public async Task Reset_PeerRestartsWithNewSession_LinkClosesAskingToReconnect()
    {
        // Arrange: an agent link that has seen one host session
        var (a, b) = MemoryDuplex.CreateTransports(reliable: false);
        var agent = new ReliableLink<AgentToHost, HostToAgent>(b, LinkPair.FastOptions());
        var host1 = new ReliableLink<HostToAgent, AgentToHost>(a, LinkPair.FastOptions());
        await host1.SendAsync(new HostToAgent { RequestId = 1 });
        await agent.ReceiveAsync().DefaultTimeout();

        // Act: a second host link (new nonce) on the same byte stream
        var host2 = new ReliableLink<HostToAgent, AgentToHost>(a, LinkPair.FastOptions());

        // Assert
        Assert.That(async () => await agent.Completion.DefaultTimeout(), Throws.InstanceOf<LinkClosedException>().With.Message.Contains("restarted"));
        await host2.DisposeAsync();
        await host1.DisposeAsync();
        await agent.DisposeAsync();
    }

    [Test]
    public async Task SendAsync_Paced115200Line_DeliversInOrderWithoutSpuriousResends()
    {
        // Arrange: both directions paced at 11,520 B/s (115200 8N1), default window and timeouts
        const int BytesPerSecond = 11_520;
        const int Count = 160;
        var (rawA, rawB) = MemoryDuplex.CreatePair();
        var pacedA = new PacedStream(rawA, BytesPerSecond);
        var pacedB = new PacedStream(rawB, BytesPerSecond);
        var options = new LinkOptions { BytesPerSecond = BytesPerSecond };
        await using var host = new ReliableLink<HostToAgent, AgentToHost>(new StreamTransport(pacedA, "paced A", false), options);
        await using var agent = new ReliableLink<AgentToHost, HostToAgent>(new StreamTransport(pacedB, "paced B", false), options);
        var payload = Google.Protobuf.ByteString.CopyFrom(new byte[48]);
        await host.SendAsync(new HostToAgent { RequestId = 0 });
        await agent.ReceiveAsync().DefaultTimeout();
        long startBytes = pacedA.BytesWritten;
        var watch = System.Diagnostics.Stopwatch.StartNew();

        // Act
        Task sending = Task.Run(async () =>
        {
            for (int i = 1; i <= Count; i++)
            {
                await host.SendAsync(new HostToAgent { RequestId = (ulong)i, WriteMemory = new WriteMemoryRequest { Data = payload } });
            }
        });
        for (int i = 1; i <= Count; i++)
        {
            Assert.That((await agent.ReceiveAsync().DefaultTimeout()).RequestId, Is.EqualTo((ulong)i));
        }

        watch.Stop();
        await sending.DefaultTimeout();

        // Assert: the resend timeout covers the line time of the bytes in flight, so a full window waiting on a slow
        // line is not sent again. (How busy the line stays is measured by `./build.sh bench wire`, not asserted here.)
        double busy = (pacedA.BytesWritten - startBytes) / (double)BytesPerSecond / watch.Elapsed.TotalSeconds;
        long resent = host.GetStatistics().Retransmissions;
        await TestContext.Out.WriteLineAsync($"115200 line: {pacedA.BytesWritten - startBytes} bytes in {watch.Elapsed.TotalMilliseconds:F0} ms, busy {busy:P1}, {resent} resends");
        Assert.That(resent, Is.LessThan(Count / 20), "resends on a loss-free paced line");
    }

    [Test]
    public async Task SendAsync_HiddenLatencyAboveTheTimeout_MeasuredRoundTripStopsSpuriousResends()
    {
        // Arrange: every byte reaches the peer 200 ms after it was written, far beyond the 40 ms resend timeout, and the
        // link cannot see that delay (no line rate, the buffer is below the transport).
        var (rawA, rawB) = MemoryDuplex.CreatePair();
        var slowA = new LatencyStream(rawA, TimeSpan.FromMilliseconds(200));
        LinkOptions options = LinkPair.FastOptions();
        await using var host = new ReliableLink<HostToAgent, AgentToHost>(new StreamTransport(slowA, "200 ms", false), options);
        await using var agent = new ReliableLink<AgentToHost, HostToAgent>(new StreamTransport(rawB, "direct", false), options);
        const int Count = 20;

        // Act: one message at a time, so each gets its own round trip.
        for (int i = 0; i < Count; i++)
        {
            await host.SendAsync(new HostToAgent { RequestId = (ulong)i });
            Assert.That((await agent.ReceiveAsync().DefaultTimeout()).RequestId, Is.EqualTo((ulong)i));
        }

        // Assert: the first frame is resent while the timeout backs off (40, 80, 160 ms); once a frame sent once is
        // acknowledged, the measured round trip covers the delay. Without it every frame would be resent about 4 times.
        long resent = host.GetStatistics().Retransmissions;
        await TestContext.Out.WriteLineAsync($"{resent} resends for {Count} messages");
        Assert.That(resent, Is.LessThan(Count / 2));
        Assert.That(agent.GetStatistics().DuplicatesDropped, Is.EqualTo(resent), "every resend arrived as a duplicate");
    }

    private static async Task<TimeSpan> AdvanceUntilCompletedAsync(FakeTimeProvider clock, Task completion, TimeSpan limit)
    {
        TimeSpan step = TimeSpan.FromMilliseconds(50);
        TimeSpan elapsed = TimeSpan.Zero;
        while (!completion.IsCompleted && elapsed < limit)
        {
            clock.Advance(step);
            elapsed += step;

            // Let the shutdown triggered by the timer run.
            await Task.Yield();
        }

        return elapsed;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (int i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.That(condition(), Is.True);
    }

    [Test]
    public void Constructor_InvalidWindow_Throws()
    {
        var (a, _) = MemoryDuplex.CreateTransports(reliable: false);
        Assert.That(() => new ReliableLink<HostToAgent, AgentToHost>(a, new LinkOptions { WindowSize = ProtocolConstants.MaxWindowSize + 1 }), Throws.ArgumentException.With.Message.Contains("WindowSize"));
        Assert.That(() => new ReliableLink<HostToAgent, AgentToHost>(a, new LinkOptions { DeadPeerTimeout = TimeSpan.FromMilliseconds(100) }), Throws.ArgumentException.With.Message.Contains("DeadPeerTimeout"));
    }
}
