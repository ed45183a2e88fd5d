// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Protocol.Tests.Support;

namespace HyperDbgRemote.Protocol.Tests;

/// <summary>10,000 messages each way over a seeded fault-injecting in-memory line: exactly once, in order.</summary>
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

    private static TestCaseData Case(string name, double ber, double drop, double duplicate, double garbage) =>
        new TestCaseData(ber, drop, duplicate, garbage).SetArgDisplayNames(name);
}
