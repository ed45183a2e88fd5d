// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Events;
using HyperDbgRemote.Agent.Messaging;
using Microsoft.Extensions.Time.Testing;

namespace HyperDbgRemote.Agent.Tests;

public sealed class MessageQueueTests
{
    private static List<AgentMessage> Drain(MessageQueue q)
    {
        var all = new List<AgentMessage>();
        while (q.TryTake() is AgentMessage m)
        {
            all.Add(m);
        }

        return all;
    }

    [Test]
    public void Immediate_KeepsOrderAndEventId()
    {
        using var q = new MessageQueue(new FakeTimeProvider());
        q.Immediate(1, "a");
        q.Immediate(2, "b");
        Assert.That(Drain(q), Is.EqualTo(new AgentMessage[] { new ImmediateScriptOutput(1, "a"), new ImmediateScriptOutput(2, "b") }));
    }

    [Test]
    public void Batched_FlushedWhenFull_AndOnTimer()
    {
        var time = new FakeTimeProvider();
        using var q = new MessageQueue(time, batchBytes: 10);
        q.Batched("12345");
        q.Batched("67890");
        Assert.That(q.Count, Is.Zero, "still batching: 10 bytes fit");
        q.Batched("x");
        Assert.That(Drain(q).Cast<BatchedScriptOutput>().Single().Texts, Is.EqualTo(new[] { "12345", "67890" }));
        time.Advance(MessageQueue.FlushInterval);
        Assert.That(Drain(q).Cast<BatchedScriptOutput>().Single().Texts, Is.EqualTo(new[] { "x" }), "the timer flushed within 100 ms");
    }

    [Test]
    public void Overflow_CountedAndReportedBeforeTheNextMessage()
    {
        using var q = new MessageQueue(new FakeTimeProvider(), capacity: 2);
        q.Immediate(0, "1");
        q.Immediate(0, "2");
        q.Immediate(0, "3");
        q.Log(EventLogLevel.Warning, "4");
        Assert.That(q.DroppedTotal, Is.EqualTo(2));
        List<AgentMessage> all = Drain(q);
        Assert.That(all[0], Is.EqualTo(new DroppedMessages(2)));
        Assert.That(all.Skip(1), Is.EqualTo(new AgentMessage[] { new ImmediateScriptOutput(0, "1"), new ImmediateScriptOutput(0, "2") }));
    }

    [Test]
    public void Overflow_ByBytes_ADroppedBatchCountsEveryMessageInIt()
    {
        // Room for about one batch of ten 10-character texts.
        using var q = new MessageQueue(new FakeTimeProvider(), batchBytes: 100, capacityBytes: 600);
        for (int i = 0; i < 30; i++)
        {
            q.Batched("0123456789");
        }

        q.FlushBatch();

        List<AgentMessage> all = Drain(q);
        long delivered = all.OfType<BatchedScriptOutput>().Sum(b => b.Texts.Count);
        Assert.That(delivered, Is.GreaterThan(0));
        Assert.That(delivered + q.DroppedTotal, Is.EqualTo(30), "every message is delivered or counted");
        Assert.That(all[0], Is.EqualTo(new DroppedMessages(q.DroppedTotal)));
    }

    [Test]
    public void Overflow_StateChangesAreNeverDropped()
    {
        using var q = new MessageQueue(new FakeTimeProvider(), capacity: 1);
        q.Immediate(0, "fills the queue");
        q.Enqueue(new RunningMessage());
        q.Enqueue(new StoppedMessage("Requested", null, null));
        q.Immediate(0, "dropped");

        List<AgentMessage> all = Drain(q);

        Assert.That(q.DroppedTotal, Is.EqualTo(1));
        Assert.That(all.OfType<RunningMessage>().Count(), Is.EqualTo(1));
        Assert.That(all.OfType<StoppedMessage>().Count(), Is.EqualTo(1));
    }

    [Test]
    public async Task TakeAsync_WaitsForAMessage()
    {
        using var q = new MessageQueue(new FakeTimeProvider());
        Task<AgentMessage> take = q.TakeAsync(CancellationToken.None);
        q.Immediate(3, "late");
        Assert.That(await take.WaitAsync(TimeSpan.FromSeconds(5)), Is.EqualTo(new ImmediateScriptOutput(3, "late")));
    }
}
