// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Protocol.Internal;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.Protocol.Tests.Support;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Protocol.Tests;

/// <summary>10,000 messages each way over a seeded fault-injecting in-memory line: exactly once, in order; and the
/// fault sequences that once stopped a link, replayed frame by frame.</summary>
public sealed class ReliableLinkFaultTests
{
    private const int Messages = 10_000;

    /// <summary>Only a hang fails on time: the exchange takes seconds alone and several times that on a loaded machine.</summary>
    private static readonly TimeSpan s_hangGuard = TimeSpan.FromMinutes(3);

    private static IEnumerable<TestCaseData> Faults()
    {
        yield return Case("BER 1e-4", 1e-4, 0, 0, 0);
        yield return Case("BER 1e-3", 1e-3, 0, 0, 0);
        yield return Case("dropped bytes 1e-3", 0, 1e-3, 0, 0);
        yield return Case("duplicated writes 5%", 0, 0, 0.05, 0);
        yield return Case("garbage bursts 2%", 0, 0, 0, 0.02);
        yield return Case("all at once", 1e-4, 1e-4, 0.01, 0.01);
    }

    [TestCaseSource(nameof(Faults))]
    public async Task Exchange_FaultyLine_EveryMessageArrivesOnceInOrder(double bitErrorRate, double byteDropRate, double duplicateRate, double garbageRate)
    {
        // Arrange
        FaultInjector Faults(int seed) => new(seed) { BitErrorRate = bitErrorRate, ByteDropRate = byteDropRate, DuplicateRate = duplicateRate, GarbageRate = garbageRate };
        FaultInjector hostToAgent = Faults(1);
        FaultInjector agentToHost = Faults(2);
        var (a, b) = MemoryDuplex.CreateTransports(reliable: false, hostToAgent, agentToHost);
        await using var pair = new LinkPair(a, b, LinkPair.FastOptions(), LinkPair.FastOptions());

        // Act
        TimeSpan elapsed = await pair.ExchangeAsync(Messages, s_hangGuard);

        // Assert (the exactly-once, in-order checks are inside ExchangeAsync)
        LinkStatistics host = pair.Host.GetStatistics();
        LinkStatistics agent = pair.Agent.GetStatistics();
        await TestContext.Out.WriteLineAsync(
            $"{TestContext.CurrentContext.Test.Name}: {elapsed.TotalSeconds:F2} s; injected h->a flips={hostToAgent.BitsFlipped} drops={hostToAgent.BytesDropped} dups={hostToAgent.Duplicates} garbage={hostToAgent.GarbageBursts}; " +
            $"host: sent={host.FramesSent} resent={host.Retransmissions} naks={host.NaksSent} crc={host.CorruptFrames} hdr={host.HeaderErrors} dup={host.DuplicatesDropped} garbage={host.GarbageBytes}; " +
            $"agent: sent={agent.FramesSent} resent={agent.Retransmissions} naks={agent.NaksSent} crc={agent.CorruptFrames} hdr={agent.HeaderErrors} dup={agent.DuplicatesDropped} garbage={agent.GarbageBytes}");
        Assert.That(host.MessagesDelivered + agent.MessagesDelivered, Is.EqualTo(2 * Messages));
    }

    [Test]
    public async Task Nak_DuplicatedBehindANewerAcknowledgement_DoesNotStopResends()
    {
        // Arrange: a link on a clock whose timer runs only when fired, and a hand-driven peer. Frames 0-2 go out; the
        // peer misses 1 (NAK: holds 2, misses 1), the link resends it; frames 3-5 go out.
        var clock = new ManualTimerClock();
        var (a, b) = MemoryDuplex.CreatePair();
        await using var link = new ReliableLink<HostToAgent, AgentToHost>(new StreamTransport(a, "memory", false), new LinkOptions { RequireAcknowledgements = true, TimeProvider = clock });
        var peer = new RawPeer(b, 0x2468);
        await peer.HandshakeAsync();
        await link.Established.DefaultTimeout();
        await SendAsync(link, 1, 3);
        await NextDataAsync(peer, sequence: 2);
        byte[] nak = Control(peer, FrameType.Nak, ack: 1, [2, 2, 1]);
        await peer.WriteAsync(nak);
        await NextDataAsync(peer, sequence: 1);
        await SendAsync(link, 4, 6);
        await NextDataAsync(peer, sequence: 5);

        // Act: the peer repeats its NAK (written before the resend arrived), then acknowledges 0-2; a relay writes that
        // chunk twice, so the old NAK comes again behind the newer acknowledgement. Frame 3 was lost on the line: the
        // peer asks for it (NAK: holds 5, misses 3), and then the link's resend timeout passes.
        byte[] ack = Control(peer, FrameType.Ack, ack: 3, [1]);
        await peer.WriteAsync([.. nak, .. ack, .. nak, .. ack]);
        await Eventually.UntilAsync(() => link.GetStatistics().NaksReceived == 3, "the link read the duplicated chunk");
        await peer.WriteAsync(Control(peer, FrameType.Nak, ack: 3, [5, 5, 3]));
        await Eventually.UntilAsync(() => link.GetStatistics().NaksReceived == 4, "the link read the NAK for frame 3");
        clock.Pass(TimeSpan.FromMilliseconds(600));
        clock.Timers[0].Fire();

        // Assert: frame 3 is resent. The stale NAK once marked frames 3-5 as held by the peer, and a frame the peer holds
        // is never resent, neither on a NAK nor on a timeout: the link stopped for good, sending only keep-alives.
        Frame next = await NextDataOrKeepAliveAsync(peer);
        Assert.That((next.Type, next.Sequence), Is.EqualTo((FrameType.Data, (byte)3)), "frame 3 was not resent");
    }

    private static async Task SendAsync(ReliableLink<HostToAgent, AgentToHost> link, ulong first, ulong last)
    {
        for (ulong id = first; id <= last; id++)
        {
            await link.SendAsync(new HostToAgent { RequestId = id }).DefaultTimeout();
        }
    }

    private static byte[] Control(RawPeer peer, FrameType type, byte ack, byte[] payload) =>
        FrameCodec.Encode(type, 0, 0, ack, payload, peer.SessionState);

    /// <summary>Reads until the DATA frame <paramref name="sequence"/> arrives.</summary>
    private static async Task NextDataAsync(RawPeer peer, byte sequence)
    {
        while (!(await peer.ReadFramesAsync()).Any(f => f.Type == FrameType.Data && f.Sequence == sequence))
        {
        }
    }

    /// <summary>Reads until a DATA or a KEEPALIVE frame arrives and returns the first.</summary>
    private static async Task<Frame> NextDataOrKeepAliveAsync(RawPeer peer)
    {
        while (true)
        {
            foreach (Frame frame in await peer.ReadFramesAsync())
            {
                if (frame.Type is FrameType.Data or FrameType.KeepAlive)
                {
                    return frame;
                }
            }
        }
    }

    private static TestCaseData Case(string name, double ber, double drop, double duplicate, double garbage) =>
        new TestCaseData(ber, drop, duplicate, garbage).SetArgDisplayNames(name);
}
