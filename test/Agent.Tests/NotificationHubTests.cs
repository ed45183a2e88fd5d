// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;
using System.Threading.Channels;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Agent.Wire;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Guests;

namespace HyperDbgRemote.Agent.Tests;

public sealed class NotificationHubTests
{
    [Test]
    public async Task SlowHost_BacklogLargerThanItsChannel_EveryMessageArrivesInOrder()
    {
        // Arrange: more messages waiting than a host's channel holds.
        using var session = new DebuggeeSession(new Flat64Guest([0xF4], 0x100000), new VmConfiguration { MemoryBytes = 16 * 1024 * 1024 });
        const int Count = NotificationHub.SubscriberCapacity + 10_000;
        for (int i = 0; i < Count; i++)
        {
            session.Messages.Immediate(0, i.ToString(CultureInfo.InvariantCulture));
        }

        await using var hub = new NotificationHub(session);
        (ChannelReader<Notification> reader, IDisposable handle) = hub.Subscribe();
        using (handle)
        {
            // Act: the host starts reading only once its channel is full.
            await Task.Delay(300);
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
}
