// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Events;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Agent.Wire;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.Tests.Shared;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Guests;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.Agent.Tests;

public sealed class DisconnectTests
{
    private static DebuggeeSession Create() => TestPrograms.OutLoopSession();

    private static async Task WaitFor(Func<bool> condition)
    {
        await Eventually.UntilAsync(condition, "the condition of the test");
    }

    [Test]
    public async Task HostGone_HaltedGuestStaysHalted_ReconnectingHostSeesTheHalt()
    {
        // Arrange
        using DebuggeeSession session = Create();
        await using var hub = new NotificationHub(session);
        var dispatcher = new RequestDispatcher(session, null);
        (_, IDisposable first) = hub.Subscribe();
        session.Events.Register(new IoEventSpec { Direction = IoEventDirection.Out, Port = 0x80 });
        session.Start();
        await WaitFor(() => session.Vm.IsHalted);

        // Act: the host disappears.
        first.Dispose();
        await Task.Delay(300);
        bool stillHalted = session.Vm.IsHalted;
        HandshakeResponse again = dispatcher.Handle(new HostToAgent { Handshake = new HandshakeRequest { ProtocolVersion = HyperDbgRemote.Protocol.ProtocolVersion.Current } }).Handshake;

        // Assert
        Assert.That(stillHalted, Is.True);
        Assert.That((again.Halted, again.CurrentHalt.Port, again.CurrentHalt.Disassembly), Is.EqualTo((true, 0x80u, "out 80h,al")));
        Assert.That(dispatcher.Handle(new HostToAgent { Continue = new ContinueRequest() }).Continue.Status, Is.EqualTo(Status.Ok));
    }

    [Test]
    public async Task HostGone_ResumeAfterTimeout_GuestRunsAgain()
    {
        using DebuggeeSession session = Create();
        await using var hub = new NotificationHub(session, resumeAfter: TimeSpan.FromMilliseconds(100));
        session.Events.Register(new IoEventSpec { Direction = IoEventDirection.Out, Port = 0x80, Core = 0 });
        session.Start();
        await WaitFor(() => session.Vm.IsHalted);
        session.Events.Clear(null);

        await WaitFor(() => !session.Vm.IsHalted);
        long writes = session.Devices.PostCode.Writes;
        await Eventually.UntilAsync(() => session.Devices.PostCode.Writes > writes, "the guest runs and writes port 80");
    }
}
