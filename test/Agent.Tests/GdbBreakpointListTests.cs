// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Agent.Wire;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.Tests.Shared;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Guests;

namespace HyperDbgRemote.Agent.Tests;

/// <summary>One breakpoint list per session: a gdb client's Z0/Z1 breakpoints are listed by <c>bl</c>, refused by
/// <c>bc</c>/<c>bd</c>/<c>be</c>, left by their <c>all</c>, and gone when the client leaves (halted or running).</summary>
public sealed class GdbBreakpointListTests
{
    private static readonly ulong s_printName = DemoSymbols.Address("print_name");
    private static readonly ulong s_nameDone = DemoSymbols.Address("name_done");
    private static readonly ulong s_printHex = DemoSymbols.Address("print_hex16");

    private static DebuggeeSession Create() =>
        new(GuestSpec.Parse("demo"), new VmConfiguration { Cores = 1, MemoryBytes = 16 * 1024 * 1024 });

    private static async Task<VmHaltInfo> StartHalted(DebuggeeSession session)
    {
        var halted = new TaskCompletionSource<VmHaltInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        session.Vm.Halted += (_, h) => halted.TrySetResult(h);
        session.Start(initialBreak: true);
        return await halted.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static BreakpointResponse Bp(RequestDispatcher d, BreakpointAction action, ulong address = 0, uint? id = null)
    {
        var request = new BreakpointRequest { Action = action, Address = address };
        if (id is uint i)
        {
            request.BreakpointId = i;
        }

        return d.Handle(new HostToAgent { RequestId = 1, Breakpoint = request }).Breakpoint;
    }

    private static (uint Id, ulong Address, bool Enabled, uint? Client, bool Hardware)[] List(RequestDispatcher d) =>
        [.. Bp(d, BreakpointAction.List).Breakpoints.Select(b => (b.BreakpointId, b.Address, b.Enabled, b.HasGdbClient ? b.GdbClient : (uint?)null, b.GdbHardware))];

    [Test]
    public async Task GdbBreakpoints_AreListedWithTheHostsByOneCounter()
    {
        // Arrange
        using DebuggeeSession session = Create();
        var d = new RequestDispatcher(session, null);
        _ = await StartHalted(session);

        // Act: bp, gdb's Z0 and Z1, bp
        _ = Bp(d, BreakpointAction.Set, s_printName);
        int z0 = session.Breakpoints.SetGdb(1, s_nameDone, hardware: false);
        int z1 = session.Breakpoints.SetGdb(1, s_printName, hardware: true);
        _ = Bp(d, BreakpointAction.Set, s_printHex);

        // Assert
        Assert.That((z0, z1), Is.EqualTo((2, 3)));
        Assert.That(List(d), Is.EqualTo(new (uint, ulong, bool, uint?, bool)[]
        {
            (1, s_printName, true, null, false), (2, s_nameDone, true, 1, false), (3, s_printName, true, 1, true), (4, s_printHex, true, null, false),
        }));
        Assert.That(session.Vm.CodeBreakpoints, Is.EquivalentTo(new[] { s_printName, s_nameDone, s_printHex }));
    }

    [Test]
    public async Task ClearEnableDisable_OfAGdbBreakpoint_AreRefusedAndChangeNothing()
    {
        // Arrange
        using DebuggeeSession session = Create();
        var d = new RequestDispatcher(session, null);
        _ = await StartHalted(session);
        _ = session.Breakpoints.SetGdb(1, s_nameDone, hardware: false);
        var before = List(d);

        // Act / Assert
        foreach (BreakpointAction action in new[] { BreakpointAction.Clear, BreakpointAction.Enable, BreakpointAction.Disable })
        {
            BreakpointResponse r = Bp(d, action, id: 1);
            Assert.That((r.Status, r.Message), Is.EqualTo((Status.InvalidArgument, "breakpoint 0x1 belongs to the gdb client; remove it from gdb.")), action.ToString());
        }

        Assert.That(List(d), Is.EqualTo(before));
        Assert.That(session.Vm.CodeBreakpoints, Is.EqualTo(new[] { s_nameDone }));
    }

    [Test]
    public async Task ClearAll_KeepsTheGdbBreakpointsAndSaysSo()
    {
        // Arrange
        using DebuggeeSession session = Create();
        var d = new RequestDispatcher(session, null);
        _ = await StartHalted(session);
        _ = Bp(d, BreakpointAction.Set, s_printName);
        _ = session.Breakpoints.SetGdb(1, s_nameDone, hardware: false);
        _ = session.Breakpoints.SetGdb(1, s_printHex, hardware: true);

        // Act
        BreakpointResponse disabled = Bp(d, BreakpointAction.Disable);
        BreakpointResponse cleared = Bp(d, BreakpointAction.Clear);

        // Assert: only the host's changed; the answer names the ones kept
        Assert.That((disabled.Status, disabled.Message), Is.EqualTo((Status.Ok, "kept the gdb client's breakpoint(s) 0x2, 0x3: remove them from gdb.")));
        Assert.That((cleared.Status, cleared.Breakpoints.Select(b => b.BreakpointId)), Is.EqualTo((Status.Ok, new[] { 1u })));
        Assert.That(cleared.Message, Is.EqualTo("kept the gdb client's breakpoint(s) 0x2, 0x3: remove them from gdb."));
        Assert.That(List(d).Select(b => b.Id), Is.EqualTo(new[] { 2u, 3u }));
        Assert.That(session.Vm.CodeBreakpoints, Is.EqualTo(new[] { s_nameDone, s_printHex }));
    }

    [Test]
    public async Task ClearOne_OfTheHosts_SaysNothingOfTheGdbBreakpoints()
    {
        // Arrange
        using DebuggeeSession session = Create();
        var d = new RequestDispatcher(session, null);
        _ = await StartHalted(session);
        _ = Bp(d, BreakpointAction.Set, s_printName);
        _ = session.Breakpoints.SetGdb(1, s_nameDone, hardware: false);

        // Act
        BreakpointResponse cleared = Bp(d, BreakpointAction.Clear, id: 1);

        // Assert: "kept" is said only of "all", which could have meant them
        Assert.That((cleared.Status, cleared.Message), Is.EqualTo((Status.Ok, string.Empty)));
        Assert.That(List(d).Select(b => b.Id), Is.EqualTo(new[] { 2u }));
    }

    [Test]
    public async Task ClientLeaving_WhileHalted_RemovesOnlyItsBreakpoints()
    {
        // Arrange: the host's bp and gdb's Z0 share print_name
        using DebuggeeSession session = Create();
        var d = new RequestDispatcher(session, null);
        _ = await StartHalted(session);
        _ = Bp(d, BreakpointAction.Set, s_printName);
        _ = session.Breakpoints.SetGdb(1, s_printName, hardware: false);
        _ = session.Breakpoints.SetGdb(1, s_nameDone, hardware: false);

        // Act
        int removed = session.Breakpoints.RemoveGdbClient(1);

        // Assert
        Assert.That(removed, Is.EqualTo(2));
        Assert.That(List(d).Select(b => b.Id), Is.EqualTo(new[] { 1u }));
        Assert.That(session.Vm.CodeBreakpoints, Is.EqualTo(new[] { s_printName }), "the bp's stays");
        Assert.That(session.Breakpoints.ClearGdb(1, s_nameDone, hardware: false), Is.False, "nothing of the client's is left");
    }

    [Test]
    public async Task ClientLeaving_WhileRunning_LeavesTheListAtOnce_AndItsBreakpointHaltsNothing()
    {
        // Arrange: gdb's breakpoint at name_done, the host's at print_hex16 (run after it); a VM breakpoint at
        // print_name (run before it) where the client leaves, on the core's thread while the guest runs.
        using DebuggeeSession session = Create();
        var d = new RequestDispatcher(session, null);
        _ = await StartHalted(session);
        _ = session.Breakpoints.SetGdb(1, s_nameDone, hardware: false);
        uint host = Bp(d, BreakpointAction.Set, s_printHex).BreakpointId;
        session.BreakpointOwners.Acquire(s_printName);
        Func<Vcpu, ulong, object?> decide = session.Vm.CodeBreakpointFilter!;
        int removed = -1;
        bool wasHalted = true;
        session.Vm.CodeBreakpointFilter = (core, address) =>
        {
            if (address == s_printName)
            {
                if (removed < 0)
                {
                    wasHalted = session.Vm.IsHalted;
                    removed = session.Breakpoints.RemoveGdbClient(1);
                }

                return null;
            }

            return decide(core, address);
        };
        var hit = new TaskCompletionSource<VmHaltInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        session.Vm.Halted += (_, h) => hit.TrySetResult(h);

        // Act
        Assert.That(d.Handle(new HostToAgent { Continue = new ContinueRequest() }).Continue.Status, Is.EqualTo(Status.Ok));
        VmHaltInfo halt = await hit.Task.WaitAsync(TimeSpan.FromSeconds(30));
        (uint, ulong, bool, uint?, bool)[] listed = List(d);
        IReadOnlyList<ulong> beforeChange = session.Vm.CodeBreakpoints;
        _ = Bp(d, BreakpointAction.Clear, id: host);

        // Assert: gdb's breakpoint at name_done did not halt; the host's after it did
        Assert.That((wasHalted, removed), Is.EqualTo((false, 1)));
        Assert.That((halt.Reason, halt.Core.ReadRegister(GuestRegister.Rip)), Is.EqualTo((VmxDriver.HaltReason.Breakpoint, s_printHex)));
        Assert.That(listed.Select(b => b.Item1), Is.EqualTo(new[] { host }), "bl stopped listing gdb's at once");
        Assert.That(beforeChange, Does.Contain(s_nameDone), "the VM's breakpoint waits for the next change");
        Assert.That(session.Vm.CodeBreakpoints, Is.EqualTo(new[] { s_printName }), "released at the next change (print_name is the test's)");
    }
}
