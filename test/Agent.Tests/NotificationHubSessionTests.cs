// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;
using System.Threading.Channels;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Agent.Wire;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Guests;

namespace HyperDbgRemote.Agent.Tests;

/// <summary>Host sessions: numbered notifications kept until confirmed, resumed after a lost link.</summary>
public sealed class NotificationHubSessionTests
{
    private static readonly TimeSpan s_guard = TimeSpan.FromSeconds(60);

    [Test]
    public async Task Resume_AfterALostLink_GetsWhatFollowedItsAcknowledgement()
    {
        // Arrange: a host that read 100 notifications, acknowledged 40, and lost its link
        using DebuggeeSession session = SessionWithMessages(0, 100);
        await using var hub = new NotificationHub(session);
        (HostSession host, _) = hub.Open(AcknowledgingHandshake());
        (ChannelReader<Notification> first, IDisposable firstHandle) = hub.Attach(host);
        List<Notification> read = await ReadAsync(first, 100);
        hub.Acknowledge(host, read[39].Sequence);
        firstHandle.Dispose();
        Enqueue(session, 100, 50); // the guest prints on meanwhile

        // Act: the host comes back and resumes
        (HostSession again, bool resumed) = hub.Open(AcknowledgingHandshake(host.Id, read[39].Sequence));
        (ChannelReader<Notification> second, IDisposable secondHandle) = hub.Attach(again);
        using (secondHandle)
        {
            List<Notification> replay = await ReadAsync(second, 110);

            // Assert
            Assert.That((resumed, ReferenceEquals(again, host)), Is.EqualTo((true, true)));
            Assert.That(Texts(replay), Is.EqualTo(Numbers(40, 110)), "everything after what it acknowledged, once, in order");
            Assert.That(replay.Select(n => n.Sequence), Is.Ordered.And.Unique);
        }
    }

    [Test]
    public async Task NewHost_NoneConnected_GetsWhatNoHostConfirmed()
    {
        // Arrange: a host read 100, acknowledged 30, and went away (killed)
        using DebuggeeSession session = SessionWithMessages(0, 100);
        await using var hub = new NotificationHub(session);
        (HostSession dead, _) = hub.Open(AcknowledgingHandshake());
        (ChannelReader<Notification> reader, IDisposable handle) = hub.Attach(dead);
        List<Notification> read = await ReadAsync(reader, 100);
        hub.Acknowledge(dead, read[29].Sequence);
        handle.Dispose();

        // Act: another debugger connects (a new session)
        (HostSession next, bool resumed) = hub.Open(AcknowledgingHandshake());
        (ChannelReader<Notification> nextReader, IDisposable nextHandle) = hub.Attach(next);
        using (nextHandle)
        {
            List<Notification> got = await ReadAsync(nextReader, 70);

            // Assert
            Assert.That(resumed, Is.False);
            Assert.That(Texts(got), Is.EqualTo(Numbers(30, 70)));
        }
    }

    [Test]
    public async Task NewHost_AnotherConnected_StartsNow()
    {
        // Arrange: one host connected and up to date
        using DebuggeeSession session = SessionWithMessages(0, 10);
        await using var hub = new NotificationHub(session);
        (ChannelReader<Notification> first, IDisposable firstHandle) = hub.Attach(hub.Open(AcknowledgingHandshake()).Session);
        using (firstHandle)
        {
            _ = await ReadAsync(first, 10);

            // Act
            (ChannelReader<Notification> second, IDisposable secondHandle) = hub.Attach(hub.Open(AcknowledgingHandshake()).Session);
            using (secondHandle)
            {
                Enqueue(session, 10, 5);
                List<Notification> got = await ReadAsync(second, 5);

                // Assert
                Assert.That(Texts(got), Is.EqualTo(Numbers(10, 5)));
            }
        }
    }

    [Test]
    public async Task NewHost_NoneConnected_GetsUnconfirmedOutputButNotOldHaltsAndRuns()
    {
        // Arrange: an acknowledging host saw output, a halt and a run, acknowledged nothing, and was killed
        using DebuggeeSession session = SessionWithMessages(0, 2);
        session.Messages.Enqueue(Halt());
        session.Messages.Enqueue(new Messaging.RunningMessage());
        Enqueue(session, 2, 2);
        await using var hub = new NotificationHub(session);
        (HostSession dead, _) = hub.Open(AcknowledgingHandshake());
        (ChannelReader<Notification> reader, IDisposable handle) = hub.Attach(dead);
        _ = await ReadAsync(reader, 6);
        handle.Dispose();

        // Act: a new debugger connects; then the guest halts again
        (HostSession next, _) = hub.Open(AcknowledgingHandshake());
        (ChannelReader<Notification> nextReader, IDisposable nextHandle) = hub.Attach(next);
        using (nextHandle)
        {
            session.Messages.Enqueue(Halt());
            List<Notification> got = await ReadAsync(nextReader, 5);

            // Assert: the old output, not the old halt and run (its handshake told it the state), then the new halt
            Assert.That(got.Select(n => n.BodyCase), Is.EqualTo(new[]
            {
                Notification.BodyOneofCase.ScriptOutput, Notification.BodyOneofCase.ScriptOutput,
                Notification.BodyOneofCase.ScriptOutput, Notification.BodyOneofCase.ScriptOutput,
                Notification.BodyOneofCase.Halted,
            }));
            Assert.That(Texts(got), Is.EqualTo(Numbers(0, 4)));
        }
    }

    [Test]
    public async Task NewHost_AnotherConnected_GetsWhatHappenedBetweenHandshakeAndAttach()
    {
        // Arrange: one host connected; a second shakes hands (gRPC: the stream comes in a second call)
        using DebuggeeSession session = SessionWithMessages(0, 1);
        await using var hub = new NotificationHub(session);
        (ChannelReader<Notification> first, IDisposable firstHandle) = hub.Attach(hub.Open(AcknowledgingHandshake()).Session);
        using (firstHandle)
        {
            _ = await ReadAsync(first, 1);
            (HostSession second, _) = hub.Open(AcknowledgingHandshake());

            // Act: the guest halts before the second host's stream is attached
            session.Messages.Enqueue(Halt());
            _ = await ReadAsync(first, 1);
            (ChannelReader<Notification> reader, IDisposable handle) = hub.Attach(second);
            using (handle)
            {
                List<Notification> got = await ReadAsync(reader, 1);

                // Assert
                Assert.That(got[0].BodyCase, Is.EqualTo(Notification.BodyOneofCase.Halted));
            }
        }
    }

    [Test]
    public async Task Resume_UnknownSession_IsANewSession()
    {
        using DebuggeeSession session = SessionWithMessages(0, 0);
        await using var hub = new NotificationHub(session);

        (HostSession host, bool resumed) = hub.Open(AcknowledgingHandshake("0123456789abcdef0123456789abcdef", 5));

        Assert.That(resumed, Is.False);
        Assert.That(host.Id, Is.Not.EqualTo("0123456789abcdef0123456789abcdef"));
    }

    [Test]
    public async Task HostThatDoesNotAcknowledge_LeavesAndTheNextGetsOnlyWhatCameAfter()
    {
        // Arrange: a host without acknowledgements (the Python example) read 20 and left
        using DebuggeeSession session = SessionWithMessages(0, 20);
        await using var hub = new NotificationHub(session);
        (ChannelReader<Notification> reader, IDisposable handle) = hub.Subscribe();
        _ = await ReadAsync(reader, 20);
        handle.Dispose();
        Enqueue(session, 20, 3);

        // Act
        (ChannelReader<Notification> next, IDisposable nextHandle) = hub.Subscribe();
        using (nextHandle)
        {
            List<Notification> got = await ReadAsync(next, 3);

            // Assert: what was written to the first counts as delivered
            Assert.That(Texts(got), Is.EqualTo(Numbers(20, 3)));
        }
    }

    [Test]
    public async Task Resume_AfterTheKeptNotificationsOverflowed_IsToldHowManyItMissed()
    {
        // Arrange: at most 50 kept; a host acknowledged 10 of 20 and left; 100 more came
        using DebuggeeSession session = SessionWithMessages(0, 20);
        await using var hub = new NotificationHub(session, maxRetained: 50);
        (HostSession host, _) = hub.Open(AcknowledgingHandshake());
        (ChannelReader<Notification> reader, IDisposable handle) = hub.Attach(host);
        List<Notification> read = await ReadAsync(reader, 20);
        hub.Acknowledge(host, read[9].Sequence);
        handle.Dispose();
        Enqueue(session, 20, 100);
        (ChannelReader<Notification> other, IDisposable otherHandle) = hub.Subscribe(); // drains the queue meanwhile
        _ = await ReadAsync(other, 100);
        otherHandle.Dispose();

        // Act
        (ChannelReader<Notification> back, IDisposable backHandle) = hub.Attach(hub.Open(AcknowledgingHandshake(host.Id, read[9].Sequence)).Session);
        using (backHandle)
        {
            List<Notification> got = await ReadAsync(back, 51);

            // Assert: a notice of the 60 it will never get, then the 50 kept, in order
            Assert.That(got[0].Dropped.Count, Is.EqualTo(60UL));
            Assert.That(Texts(got.Skip(1)), Is.EqualTo(Numbers(70, 50)));
        }
    }

    private static HandshakeRequest AcknowledgingHandshake(string? resume = null, ulong last = 0) =>
        Handshakes.Request(null, resume is null ? null : new ResumePoint(resume, last), acknowledge: true);

    private static DebuggeeSession SessionWithMessages(int first, int count)
    {
        var session = new DebuggeeSession(new Flat64Guest([0xF4], 0x100000), new VmConfiguration { MemoryBytes = 16 * 1024 * 1024 });
        Enqueue(session, first, count);
        return session;
    }

    private static void Enqueue(DebuggeeSession session, int first, int count)
    {
        for (int i = first; i < first + count; i++)
        {
            session.Messages.Immediate(0, i.ToString(CultureInfo.InvariantCulture));
        }
    }

    private static async Task<List<Notification>> ReadAsync(ChannelReader<Notification> reader, int count)
    {
        using var guard = new CancellationTokenSource(s_guard);
        var read = new List<Notification>();
        while (read.Count < count)
        {
            read.Add(await reader.ReadAsync(guard.Token));
        }

        return read;
    }

    private static IEnumerable<string> Texts(IEnumerable<Notification> notifications) => notifications.SelectMany(n => n.ScriptOutput?.Texts ?? []);

    private static IEnumerable<string> Numbers(int first, int count) => Enumerable.Range(first, count).Select(i => i.ToString(CultureInfo.InvariantCulture));

    private static Messaging.HaltedMessage Halt() =>
        new(0, "break-in", null, null, null, 0x100000, [0xF4], "hlt", new Dictionary<string, ulong>(StringComparer.Ordinal));
}
