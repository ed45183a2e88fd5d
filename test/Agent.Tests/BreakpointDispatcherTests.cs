// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Agent.Wire;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.Tests.Shared;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Guests;

namespace HyperDbgRemote.Agent.Tests;

/// <summary><c>bp</c>/<c>bl</c>/<c>bc</c>/<c>bd</c>/<c>be</c> and <c>t</c> on the wire: what the dispatcher refuses, and
/// a breakpoint hit and a step on the demo guest.</summary>
public sealed class BreakpointDispatcherTests
{
    private static readonly ulong s_printName = DemoSymbols.Address("print_name");

    private static DebuggeeSession Create(ProtocolLimits? limits = null) =>
        new(GuestSpec.Parse("demo"), new VmConfiguration { Cores = 1, MemoryBytes = 16 * 1024 * 1024 }, limits);

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

    [Test]
    public async Task Set_NonCanonicalAddress_IsRefusedAndNothingIsSet()
    {
        // Arrange
        using DebuggeeSession session = Create();
        var d = new RequestDispatcher(session, null);
        _ = await StartHalted(session);

        // Act
        BreakpointResponse r = Bp(d, BreakpointAction.Set, 0x0000_8000_0000_0000);

        // Assert
        Assert.That((r.Status, r.Message), Is.EqualTo((Status.InvalidArgument, "800000000000 is not a canonical address: no instruction can be there.")));
        Assert.That(Bp(d, BreakpointAction.List).Breakpoints, Is.Empty);
        Assert.That(session.Vm.CodeBreakpoints, Is.Empty);
    }

    [Test]
    public async Task ClearEnableDisable_UnknownId_IsNotFound()
    {
        // Arrange
        using DebuggeeSession session = Create();
        var d = new RequestDispatcher(session, null);
        _ = await StartHalted(session);
        Assert.That(Bp(d, BreakpointAction.Set, s_printName).BreakpointId, Is.EqualTo(1u), "HyperDbg numbers breakpoints from 1");

        // Act / Assert
        foreach (BreakpointAction action in new[] { BreakpointAction.Clear, BreakpointAction.Enable, BreakpointAction.Disable })
        {
            BreakpointResponse r = Bp(d, action, id: 5);
            Assert.That((r.Status, r.Message), Is.EqualTo((Status.NotFound, "breakpoint 0x5 does not exist (see 'bl').")), action.ToString());
        }

        Assert.That(Bp(d, BreakpointAction.List).Breakpoints.Select(b => (b.BreakpointId, b.Address, b.Enabled)), Is.EqualTo(new[] { (1u, s_printName, true) }));
        Assert.That(session.Vm.CodeBreakpoints, Is.EqualTo(new[] { s_printName }));
    }

    [Test]
    public async Task Set_BeyondTheLimitOrTwiceAtOneAddress_IsRefused_DisableThenEnableFollowTheVm()
    {
        // Arrange
        using DebuggeeSession session = Create(new ProtocolLimits { MaxBreakpoints = 2 });
        var d = new RequestDispatcher(session, null);
        _ = await StartHalted(session);
        _ = Bp(d, BreakpointAction.Set, 0x100000);
        _ = Bp(d, BreakpointAction.Set, 0x100010);

        // Act
        BreakpointResponse tooMany = Bp(d, BreakpointAction.Set, 0x100020);
        BreakpointResponse twice = Bp(d, BreakpointAction.Set, 0x100000);
        BreakpointResponse disabled = Bp(d, BreakpointAction.Disable, id: 1);
        IReadOnlyList<ulong> whileDisabled = session.Vm.CodeBreakpoints;
        _ = Bp(d, BreakpointAction.Enable);
        IReadOnlyList<ulong> afterEnableAll = session.Vm.CodeBreakpoints;
        BreakpointResponse cleared = Bp(d, BreakpointAction.Clear);

        // Assert
        Assert.That((tooMany.Status, tooMany.Message), Is.EqualTo((Status.LimitExceeded, "2 breakpoints are set; the limit is 2 (clear some with 'bc').")));
        Assert.That((twice.Status, twice.Message), Is.EqualTo((Status.InvalidArgument, "breakpoint 0x1 is already set at 100000.")));
        Assert.That(disabled.Breakpoints.Select(b => (b.BreakpointId, b.Enabled)), Is.EqualTo(new[] { (1u, true) }), "the breakpoint as it was");
        Assert.That(whileDisabled, Is.EqualTo(new[] { 0x100010UL }));
        Assert.That(afterEnableAll, Is.EqualTo(new[] { 0x100000UL, 0x100010UL }));
        Assert.That((cleared.Status, cleared.Breakpoints.Count, session.Vm.CodeBreakpoints.Count), Is.EqualTo((Status.Ok, 2, 0)));
    }

    [Test]
    public void StepAndSet_WhileRunning_AreRefused_AndTooManySteps()
    {
        // Arrange
        using DebuggeeSession session = Create();
        var d = new RequestDispatcher(session, null);
        session.Start();

        // Act
        StepResponse step = d.Handle(new HostToAgent { Step = new StepRequest { Count = 1 } }).Step;
        BreakpointResponse set = Bp(d, BreakpointAction.Set, s_printName);
        StepResponse tooMany = d.Handle(new HostToAgent { Step = new StepRequest { Count = ProtocolLimits.MaxStepCount + 1 } }).Step;

        // Assert
        Assert.That((step.Status, step.Message), Is.EqualTo((Status.NotHalted, "stepping needs a halted debuggee: pause it first.")));
        Assert.That((set.Status, set.Message), Is.EqualTo((Status.NotHalted, "setting a breakpoint needs a halted debuggee: pause it first.")));
        Assert.That((tooMany.Status, tooMany.Message), Is.EqualTo((Status.LimitExceeded, "10001 steps exceed the limit of 10000 per request.")));
        Assert.That(session.Vm.CodeBreakpoints, Is.Empty);
    }

    [Test]
    public async Task Breakpoint_HaltsBeforeTheInstruction_ThenStepsMoveOneInstructionEach()
    {
        // Arrange
        using DebuggeeSession session = Create();
        var d = new RequestDispatcher(session, null);
        _ = await StartHalted(session);
        uint id = Bp(d, BreakpointAction.Set, s_printName).BreakpointId;
        var hit = new TaskCompletionSource<VmHaltInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        session.Vm.Halted += (_, h) => hit.TrySetResult(h);

        // Act
        Assert.That(d.Handle(new HostToAgent { Continue = new ContinueRequest() }).Continue.Status, Is.EqualTo(Status.Ok));
        VmHaltInfo halt = await hit.Task.WaitAsync(TimeSpan.FromSeconds(30));
        HaltedNotification atBreak = d.Handle(new HostToAgent { Handshake = new HandshakeRequest { ProtocolVersion = ProtocolVersion.Current } }).Handshake.CurrentHalt;
        DisassembleResponse next = d.Handle(new HostToAgent { Disassemble = new DisassembleRequest { Address = s_printName, Count = 3 } }).Disassemble;
        StepResponse step = d.Handle(new HostToAgent { Step = new StepRequest { Count = 2 } }).Step;

        // Assert
        Assert.That((halt.Reason, atBreak.Reason, atBreak.BreakpointId, atBreak.Rip), Is.EqualTo((VmxDriver.HaltReason.Breakpoint, Protocol.Messages.HaltReason.Breakpoint, id, s_printName)));
        Assert.That((step.Status, step.Steps, step.Halt.Reason, step.Halt.Rip), Is.EqualTo((Status.Ok, 2u, Protocol.Messages.HaltReason.Step, next.Instructions[2].Address)));
        Assert.That(Bp(d, BreakpointAction.List).Breakpoints[0].Hits, Is.EqualTo(1UL));
    }

    [Test]
    public async Task Set_UnmappedAddress_IsSetAsPendingAndSaysSo()
    {
        // Arrange: the demo maps its first GiBs by identity; 0x7f00_0000_0000 is canonical but not mapped
        using DebuggeeSession session = Create();
        var d = new RequestDispatcher(session, null);
        _ = await StartHalted(session);

        // Act
        BreakpointResponse r = Bp(d, BreakpointAction.Set, 0x7f00_0000_0000);
        BreakpointResponse mapped = Bp(d, BreakpointAction.Set, s_printName);

        // Assert: set (as gdb's pending breakpoints), with the reason; a mapped address gets no message
        Assert.That((r.Status, r.BreakpointId, r.Message), Is.EqualTo((Status.Ok, 1u, "breakpoint 0x1 is pending: 7f0000000000 is not mapped now (core 0's page tables); it is hit when code there runs.")));
        Assert.That((mapped.Status, mapped.Message), Is.EqualTo((Status.Ok, string.Empty)));
        Assert.That(Bp(d, BreakpointAction.List).Breakpoints.Select(b => (b.Address, b.Pending)), Is.EqualTo(new[] { (0x7f00_0000_0000UL, true), (s_printName, false) }), "bl marks the pending one");
        Assert.That(session.Vm.CodeBreakpoints, Is.EqualTo(new[] { s_printName, 0x7f00_0000_0000UL }));
    }

    [Test]
    public async Task BreakpointAndGdbBreakpoint_AtOneAddress_EachClearLeavesTheOthers()
    {
        // Arrange: the host's bp and a gdb client's Z0 (the stub's calls) at demo!print_name
        using DebuggeeSession session = Create();
        var d = new RequestDispatcher(session, null);
        _ = await StartHalted(session);
        BreakpointTable gdb = session.Breakpoints;

        // Act / Assert: bp, then Z0 at the same address; z0 leaves the bp's breakpoint in the VM
        Assert.That(Bp(d, BreakpointAction.Set, s_printName).Status, Is.EqualTo(Status.Ok));
        _ = gdb.SetGdb(1, s_printName, hardware: false);
        Assert.That(gdb.ClearGdb(1, s_printName, hardware: false), Is.True);
        Assert.That(session.Vm.CodeBreakpoints, Is.EqualTo(new[] { s_printName }), "z0 does not remove the bp");

        // Z0 again, then bc all and bd: the gdb breakpoint stays until its own z0
        _ = gdb.SetGdb(1, s_printName, hardware: false);
        Assert.That(Bp(d, BreakpointAction.Clear).Status, Is.EqualTo(Status.Ok));
        Assert.That(session.Vm.CodeBreakpoints, Is.EqualTo(new[] { s_printName }), "bc does not remove gdb's breakpoint");
        Assert.That(Bp(d, BreakpointAction.Set, s_printName).Status, Is.EqualTo(Status.Ok), "bp where gdb has one is accepted");
        Assert.That(Bp(d, BreakpointAction.Disable).Status, Is.EqualTo(Status.Ok));
        Assert.That(session.Vm.CodeBreakpoints, Is.EqualTo(new[] { s_printName }), "bd does not remove gdb's breakpoint");
        Assert.That(gdb.ClearGdb(1, s_printName, hardware: false), Is.True);
        Assert.That(session.Vm.CodeBreakpoints, Is.Empty, "the last reference went");
        Assert.That(Bp(d, BreakpointAction.Enable).Status, Is.EqualTo(Status.Ok));
        Assert.That(session.Vm.CodeBreakpoints, Is.EqualTo(new[] { s_printName }));
    }

    [Test]
    public void StepOverAndGoUp_WhileRunning_AreRefusedAndNothingChanges()
    {
        // Arrange: the demo running (no initial break)
        using DebuggeeSession session = Create();
        var d = new RequestDispatcher(session, null);
        session.Start();

        // Act
        StepResponse over = d.Handle(new HostToAgent { RequestId = 1, Step = new StepRequest { Kind = StepKind.Over } }).Step;
        StepResponse up = d.Handle(new HostToAgent { RequestId = 2, Step = new StepRequest { Kind = StepKind.Out } }).Step;
        StepResponse many = d.Handle(new HostToAgent { RequestId = 3, Step = new StepRequest { Kind = StepKind.Out, Count = ProtocolLimits.MaxGoUpInstructions + 1 } }).Step;

        // Assert
        Assert.That((over.Status, over.Message), Is.EqualTo((Status.NotHalted, "stepping needs a halted debuggee: pause it first.")));
        Assert.That(up.Status, Is.EqualTo(Status.NotHalted));
        Assert.That(many.Status, Is.EqualTo(Status.LimitExceeded));
        Assert.That(session.Vm.IsHalted, Is.False);
    }
}
