// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.CompilerServices;
using System.Threading.Channels;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Tests;

/// <summary>
/// A halt reaches the host twice at times: in the handshake (or a pause or step answer) and as a notification. When
/// the notification comes after the host has already continued from that halt, it must not make the running guest
/// look halted again (a script's <c>-c g -c r</c> then read registers of a halt that no longer exists).
/// </summary>
public sealed class DebugSessionHaltTests
{
    [Test]
    public async Task LateNotificationOfAContinuedHalt_IsShownButDoesNotBecomeTheCurrentHalt()
    {
        var initial = new HaltedNotification { Reason = HaltReason.InitialBreak, HaltId = 1, Rip = 0x1000 };
        await using var connection = new ScriptedConnection(new HandshakeResponse { Status = Status.Ok, Guest = new GuestDescription(), Halted = true, CurrentHalt = initial });
        using var output = new StringWriter();
        await using var session = new DebugSession(new HostOutput(output, TextWriter.Null, json: false));
        await session.AttachAsync(connection);
        Assert.That(session.Halt, Is.SameAs(initial));

        session.MarkRunning(initial); // 'g'
        await connection.DeliverAsync(new Notification { Halted = initial.Clone() });

        Assert.Multiple(() =>
        {
            Assert.That(session.Halt, Is.Null, "the guest runs: the late notice of the initial break is history");
            Assert.That(output.ToString(), Does.Contain("initial break"), "but it is still shown, nothing is hidden");
        });

        var next = new HaltedNotification { Reason = HaltReason.BreakIn, HaltId = 2, Rip = 0x2000 };
        Task<HaltedNotification> wait = session.WaitForHaltAsync(TimeSpan.FromMinutes(1));
        await connection.DeliverAsync(new Notification { Halted = next });

        Assert.That((await wait).HaltId, Is.EqualTo(2), "a command waiting for the next halt gets the new one");
        Assert.That(session.Halt!.HaltId, Is.EqualTo(2));
    }

    [Test]
    public async Task NotificationOfTheHaltArrivingWhileGoIsUnderway_IsContinuedWithIt()
    {
        // The handshake carried the initial break; its notification arrives after 'g' took that halt and before the
        // agent's answer to the continue: the same halt (same id) in another message.
        var initial = new HaltedNotification { Reason = HaltReason.InitialBreak, HaltId = 1, Rip = 0x1000 };
        await using var connection = new ScriptedConnection(new HandshakeResponse { Status = Status.Ok, Guest = new GuestDescription(), Halted = true, CurrentHalt = initial });
        await using var session = new DebugSession(new HostOutput(TextWriter.Null, TextWriter.Null, json: false));
        await session.AttachAsync(connection);

        await connection.DeliverAsync(new Notification { Halted = initial.Clone() });
        session.MarkRunning(initial); // 'g' continued from the halt it took before the notification

        Assert.That(session.Halt, Is.Null, "the guest runs: a following 'r' must wait for the next halt");
    }

    [Test]
    public async Task AgentWithoutHaltIds_EveryHaltNotificationCounts()
    {
        var halt = new HaltedNotification { Reason = HaltReason.BreakIn, Rip = 0x1000 };
        await using var connection = new ScriptedConnection(new HandshakeResponse { Status = Status.Ok, Guest = new GuestDescription(), Halted = true, CurrentHalt = halt });
        await using var session = new DebugSession(new HostOutput(TextWriter.Null, TextWriter.Null, json: false));
        await session.AttachAsync(connection);

        session.MarkRunning(halt);
        await connection.DeliverAsync(new Notification { Halted = new HaltedNotification { Reason = HaltReason.BreakIn, Rip = 0x3000 } });

        Assert.That(session.Halt?.Rip, Is.EqualTo(0x3000));
    }

    /// <summary>A connection whose notifications the test hands over one by one, learning when each was processed.</summary>
    private sealed class ScriptedConnection(HandshakeResponse handshake) : IDebuggeeConnection
    {
        private readonly Channel<Notification> _notifications = Channel.CreateUnbounded<Notification>();
        private readonly SemaphoreSlim _processed = new(0);

        public HandshakeResponse Handshake => handshake;

        /// <summary>Delivers a notification and returns once the session has processed it.</summary>
        public async Task DeliverAsync(Notification n)
        {
            await _notifications.Writer.WriteAsync(n);
            Assert.That(await _processed.WaitAsync(TimeSpan.FromMinutes(1)), Is.True, "the session processed the notification");
        }

        public Task<AgentToHost> SendAsync(HostToAgent request, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("no requests in these tests");

        public async IAsyncEnumerable<Notification> NotificationsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            while (await _notifications.Reader.WaitToReadAsync(cancellationToken))
            {
                while (_notifications.Reader.TryRead(out Notification? n))
                {
                    yield return n;
                    _processed.Release(); // runs when the session asks for the next one: this one is done
                }
            }
        }

        public Task AcknowledgeAsync(ulong sequence, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public ValueTask DisposeAsync()
        {
            _notifications.Writer.TryComplete();
            return ValueTask.CompletedTask;
        }
    }
}
