// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Host.Tests;

/// <content>
/// The break-in of docs/protocol/serial.md through the real agent process: the byte alone halts a running guest (a
/// break-in halt notification), and the pause request that follows it is answered STATUS_ALREADY_HALTED with the halt.
/// </content>
public sealed partial class RemoteSessionTests
{
    [Test]
    public async Task Tcp_BreakInByte_HaltsTheGuest_AndThePauseAfterItIsAlreadyHalted()
    {
        // Arrange: a token-protected agent whose guest runs, and a host that has shaken hands
        int port = FreePort();
        using Process agent = StartAgent($"tcp://127.0.0.1:{port}", "--token", Token);
        try
        {
            await using LinkDebuggeeConnection host = await LinkDebuggeeConnection.ConnectAsync($"tcp://127.0.0.1:{port}", Token);
            Assert.That(host.Handshake.Halted, Is.False, "the guest runs");
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await using IAsyncEnumerator<Notification> notes = host.NotificationsAsync(cts.Token).GetAsyncEnumerator(cts.Token);

            // Act: the byte alone, then (once its halt is seen) the pause request the host sends after it
            Assert.That(host.TrySendBreakIn(), Is.True);
            Notification? halt = null;
            while (halt is null && await notes.MoveNextAsync())
            {
                halt = notes.Current.BodyCase == Notification.BodyOneofCase.Halted ? notes.Current : null;
            }

            AgentToHost pause = await host.SendAsync(new HostToAgent { Pause = new PauseRequest() }, cts.Token);

            // Assert
            Assert.That(halt, Is.Not.Null, "the byte halted the guest");
            Assert.That(halt!.Halted.Reason, Is.EqualTo(HaltReason.BreakIn));
            Assert.That(pause.Pause.Status, Is.EqualTo(Status.AlreadyHalted), pause.Pause.Message);
            Assert.That(pause.Pause.Halt.Rip, Is.EqualTo(halt.Halted.Rip), "the answer carries the halt");
        }
        finally
        {
            Kill(agent);
        }
    }
}
