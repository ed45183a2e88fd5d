// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;
using System.Threading.Channels;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Agent.Wire;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.Tests.Shared;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Guests;

namespace HyperDbgRemote.Agent.Tests;

public sealed class NotificationHubTests
{
    [Test]
    public async Task SlowHost_BacklogLargerThanItsChannel_EveryMessageArrivesInOrder()
    {
        // Arrange: more messages waiting than a host's channel holds.
        const int Count = NotificationHub.SubscriberCapacity + 10_000;
        using DebuggeeSession session = SessionWithMessages(Count);

        await using var hub = new NotificationHub(session);
        (ChannelReader<Notification> reader, IDisposable handle) = hub.Subscribe();
        using (handle)
        {
            // Act: the host starts reading only once its channel is full.
            await Eventually.UntilAsync(() => reader.Count >= NotificationHub.SubscriberCapacity, "the host's channel filled");
            var texts = new List<string>(Count);
            bool droppedNotice = false;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (texts.Count < Count)
            {
                Notification n = await reader.ReadAsync(timeout.Token);
                droppedNotice |= n.BodyCase == Notification.BodyOneofCase.Dropped;
                if (n.BodyCase == Notification.BodyOneofCase.ScriptOutput)
                {
                    texts.AddRange(n.ScriptOutput.Texts);
                }
            }

            // Assert
            Assert.That(droppedNotice, Is.False);
            Assert.That(session.Messages.DroppedTotal, Is.Zero);
            Assert.That(texts, Is.EqualTo(Enumerable.Range(0, Count).Select(i => i.ToString(CultureInfo.InvariantCulture))));
        }
    }

    [Test]
    public async Task TwoHosts_OneReadsNothing_TheOtherGetsEverythingAndTheStalledOneLearnsWhatItMissed()
    {
        // Arrange: two hosts, one of which reads nothing at first; then a backlog larger than a host's channel
        const int Count = NotificationHub.SubscriberCapacity + 5_000;
        using DebuggeeSession session = SessionWithMessages(0);
        await using var hub = new NotificationHub(session, stallTimeout: TimeSpan.FromSeconds(1));
        (ChannelReader<Notification> stalled, IDisposable stalledHandle) = hub.Subscribe();
        (ChannelReader<Notification> reading, IDisposable readingHandle) = hub.Subscribe();
        Enqueue(session, Count);
        session.Messages.Enqueue(new Messaging.RunningMessage());
        using (stalledHandle)
        using (readingHandle)
        {
            // Act: the reading host takes everything; then the stalled one starts reading.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            List<Notification> seen = await ReadUntilAsync(reading, n => n.BodyCase == Notification.BodyOneofCase.Running, timeout.Token);
            List<Notification> missed = await ReadUntilAsync(stalled, n => n.BodyCase == Notification.BodyOneofCase.Running, timeout.Token);

            // Assert
            Assert.That(seen.SelectMany(n => n.ScriptOutput?.Texts ?? []), Is.EqualTo(Enumerable.Range(0, Count).Select(i => i.ToString(CultureInfo.InvariantCulture))));
            Assert.That(seen.Any(n => n.BodyCase == Notification.BodyOneofCase.Dropped), Is.False);
            List<string> got = [.. missed.SelectMany(n => n.ScriptOutput?.Texts ?? [])];
            Notification notice = missed.Single(n => n.BodyCase == Notification.BodyOneofCase.Dropped);
            Assert.That(got, Is.EqualTo(Enumerable.Range(0, got.Count).Select(i => i.ToString(CultureInfo.InvariantCulture))), "what it got is the start, in order");
            Assert.That(got, Has.Count.GreaterThanOrEqualTo(NotificationHub.SubscriberCapacity));
            Assert.That((long)notice.Dropped.Count, Is.EqualTo(Count - got.Count), "every message it missed is counted");
            Assert.That(missed[^1].BodyCase, Is.EqualTo(Notification.BodyOneofCase.Running), "a state change is never dropped");
        }
    }

    [Test]
    public async Task TwoHosts_StalledOneReadsAfterTheLastMessage_ToldWhatItMissedOnceItsQueueIsRead()
    {
        // Arrange: as above, but nothing follows the backlog, so no later write carries the notice
        const int Count = NotificationHub.SubscriberCapacity + 500;
        using DebuggeeSession session = SessionWithMessages(0);
        await using var hub = new NotificationHub(session, stallTimeout: TimeSpan.FromSeconds(1));
        (ChannelReader<Notification> stalled, IDisposable stalledHandle) = hub.Subscribe();
        (ChannelReader<Notification> reading, IDisposable readingHandle) = hub.Subscribe();
        Enqueue(session, Count);
        using (stalledHandle)
        using (readingHandle)
        {
            // Act
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            int texts = 0;
            await ReadUntilAsync(reading, n => (texts += n.ScriptOutput?.Texts.Count ?? 0) == Count, timeout.Token);
            List<Notification> missed = await ReadUntilAsync(stalled, n => n.BodyCase == Notification.BodyOneofCase.Dropped, timeout.Token);

            // Assert: its queue first, then the notice
            int got = missed.Sum(n => n.ScriptOutput?.Texts.Count ?? 0);
            Assert.That(got, Is.EqualTo(NotificationHub.SubscriberCapacity));
            Assert.That((long)missed[^1].Dropped.Count, Is.EqualTo(Count - got));
            Assert.That(stalled.TryRead(out _), Is.False, "nothing else");
        }
    }

    [Test]
    public async Task OneHost_ReadsNothingForLong_NothingIsDroppedAndAHostThatLeavesReleasesThePump()
    {
        // Arrange: one host that reads nothing for longer than the stall timeout
        const int Count = NotificationHub.SubscriberCapacity + 100;
        using DebuggeeSession session = SessionWithMessages(Count);

        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        await using var hub = new NotificationHub(session, time: time, stallTimeout: TimeSpan.FromMilliseconds(100));
        (ChannelReader<Notification> first, IDisposable firstHandle) = hub.Subscribe();
        await Eventually.UntilAsync(() => first.Count >= NotificationHub.SubscriberCapacity, "the host's channel filled");
        time.Advance(TimeSpan.FromSeconds(1)); // it has read nothing for ten stall timeouts

        // Act: the host leaves without reading; another comes
        firstHandle.Dispose();
        (ChannelReader<Notification> second, IDisposable secondHandle) = hub.Subscribe();
        using (secondHandle)
        {
            session.Messages.Enqueue(new Messaging.RunningMessage());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            List<Notification> seen = await ReadUntilAsync(second, n => n.BodyCase == Notification.BodyOneofCase.Running, timeout.Token);

            // Assert: alone, the first host held the backlog back instead of losing it; the rest went to the next host
            Assert.That(first.Count, Is.EqualTo(NotificationHub.SubscriberCapacity));
            Assert.That(seen.SelectMany(n => n.ScriptOutput?.Texts ?? []).Count(), Is.GreaterThanOrEqualTo(Count - NotificationHub.SubscriberCapacity - 1));
            Assert.That(seen.Any(n => n.BodyCase == Notification.BodyOneofCase.Dropped), Is.False);
            Assert.That(session.Messages.DroppedTotal, Is.Zero);
        }
    }

    /// <summary>A session whose queue holds <paramref name="count"/> immediate messages "0", "1", ...</summary>
    private static DebuggeeSession SessionWithMessages(int count)
    {
        var session = new DebuggeeSession(new Flat64Guest([0xF4], 0x100000), new VmConfiguration { MemoryBytes = 16 * 1024 * 1024 });
        Enqueue(session, count);
        return session;
    }

    /// <summary>Queues immediate messages "0" .. "count-1" (a guest printing while the hosts are connected).</summary>
    private static void Enqueue(DebuggeeSession session, int count)
    {
        for (int i = 0; i < count; i++)
        {
            session.Messages.Immediate(0, i.ToString(CultureInfo.InvariantCulture));
        }
    }

    private static async Task<List<Notification>> ReadUntilAsync(ChannelReader<Notification> reader, Func<Notification, bool> last, CancellationToken token)
    {
        var seen = new List<Notification>();
        while (true)
        {
            Notification n = await reader.ReadAsync(token);
            seen.Add(n);
            if (last(n))
            {
                return seen;
            }
        }
    }
}
