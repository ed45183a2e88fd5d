// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Events;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Agent.Wire;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Guests;
using HaltReason = HyperDbgRemote.VmxDriver.HaltReason;

namespace HyperDbgRemote.Agent.Tests;

/// <summary><c>bp ADDRESS pid P core C script {...}</c> on the wire, on the demo guest: a filtered breakpoint halts only
/// where it matches and elsewhere the instruction runs as if it were not there; a script runs instead of the halt
/// and <c>pause()</c> halts; bad options change nothing.</summary>
public sealed class BreakpointOptionsTests
{
    private static DebuggeeSession Create(int cores = 1) =>
        new(GuestSpec.Parse("demo"), new VmConfiguration { Cores = cores, MemoryBytes = 16 * 1024 * 1024 });

    private static ulong Symbol(DebuggeeSession session, string name) => session.Symbols[name];

    /// <summary>Starts halted at the initial break; the halts that follow arrive in order in the returned queue.</summary>
    private static async Task<System.Threading.Channels.Channel<VmHaltInfo>> StartHalted(DebuggeeSession session)
    {
        var halts = System.Threading.Channels.Channel.CreateUnbounded<VmHaltInfo>();
        session.Vm.Halted += (_, h) => halts.Writer.TryWrite(h);
        session.Start(initialBreak: true);
        _ = await halts.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        return halts;
    }

    private static async Task<VmHaltInfo> Go(RequestDispatcher d, System.Threading.Channels.Channel<VmHaltInfo> halts)
    {
        Assert.That(d.Handle(new HostToAgent { RequestId = 2, Continue = new ContinueRequest() }).Continue.Status, Is.EqualTo(Status.Ok));
        return await halts.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Where each demo process's name lies: in its own user page (demo.asm's USER_VA + USER_NAME).</summary>
    private const ulong UserName = 0x4000_1000;

    private static BreakpointResponse Send(RequestDispatcher d, BreakpointRequest request) =>
        d.Handle(new HostToAgent { RequestId = 1, Breakpoint = request }).Breakpoint;

    private static BreakpointResponse List(RequestDispatcher d) => Send(d, new BreakpointRequest { Action = BreakpointAction.List });

    [Test]
    public async Task PidFilter_HaltsOnlyInThatProcess_AndTheOtherProcessRunsThroughTheInstruction()
    {
        // Arrange: print_name's loop runs once per character, for the shell (pid 1) and then the logger (pid 2)
        using DebuggeeSession session = Create();
        var d = new RequestDispatcher(session, null);
        var halts = await StartHalted(session);
        ulong printName = Symbol(session, "demo!print_name");
        const ulong logger = UserName; // the logger's name, in its own user page
        uint id = Send(d, new BreakpointRequest { Action = BreakpointAction.Set, Address = printName, Pid = 2 }).BreakpointId;

        // Act: three halts
        var seen = new List<(HaltReason Reason, uint Pid, ulong Rip, ulong Rsi, object? Tag)>();
        for (int i = 0; i < 3; i++)
        {
            VmHaltInfo h = await Go(d, halts);
            seen.Add((h.Reason, session.Vm.OsProfile.Current(h.Core).ProcessId, h.Core.ReadRegister(GuestRegister.Rip), h.Core.ReadRegister(GuestRegister.Rsi), h.Tag));
        }

        session.Vm.Memory.TryRead(Symbol(session, "demo!ticks"), out ulong ticks);

        // Assert: the logger's first three characters; the shell printed its whole name and its tick before
        Assert.That(seen.Select(s => (s.Reason, s.Pid, s.Rip, s.Rsi)), Is.EqualTo(new[]
        {
            (HaltReason.Breakpoint, 2u, printName, logger),
            (HaltReason.Breakpoint, 2u, printName, logger + 1),
            (HaltReason.Breakpoint, 2u, printName, logger + 2),
        }));
        Assert.That(seen[0].Tag, Is.EqualTo(new BreakpointTable.HaltTag(printName, (int)id)));
        Assert.That(ticks, Is.EqualTo(1UL), "the shell's run went through print_name and counted its tick");
        BreakpointInfo info = List(d).Breakpoints.Single();
        Assert.That((info.Hits, info.HasPid, info.Pid, info.HasCore), Is.EqualTo((3UL, true, 2u, false)), "hits count only matching passes");
    }

    [Test]
    public async Task CoreFilter_HaltsOnlyOnThatCore()
    {
        // Arrange: both cores call bump_counter; core 1 runs the worker
        using DebuggeeSession session = Create(cores: 2);
        var d = new RequestDispatcher(session, null);
        var halts = await StartHalted(session);
        ulong bump = Symbol(session, "demo!bump_counter");
        Assert.That(Send(d, new BreakpointRequest { Action = BreakpointAction.Set, Address = bump, Core = 1 }).Status, Is.EqualTo(Status.Ok));

        // Act
        var cores = new List<(int Core, ulong Rip)>();
        for (int i = 0; i < 3; i++)
        {
            VmHaltInfo h = await Go(d, halts);
            cores.Add((h.Core.Index, h.Core.ReadRegister(GuestRegister.Rip)));
        }

        // Assert
        Assert.That(cores, Is.EqualTo(Enumerable.Repeat((1, bump), 3)));
    }

    [Test]
    public async Task Script_RunsInsteadOfTheHalt_AndPauseHalts()
    {
        // Arrange: the script halts at the logger's first character (both names are at the same user address, each in
        // its process's page); the shell's six passes (5 letters and the NUL) run it only
        using DebuggeeSession session = Create();
        var d = new RequestDispatcher(session, AgentScripts.Create(session));
        var halts = await StartHalted(session);
        ulong printName = Symbol(session, "demo!print_name");
        string script = "if ($pid == 2) { pause(); }";
        uint id = Send(d, new BreakpointRequest { Action = BreakpointAction.Set, Address = printName, Script = script }).BreakpointId;

        // Act
        VmHaltInfo h = await Go(d, halts);

        // Assert
        Assert.That((h.Reason, h.Core.ReadRegister(GuestRegister.Rip), h.Core.ReadRegister(GuestRegister.Rsi), h.Tag), Is.EqualTo((HaltReason.Breakpoint, printName, UserName, (object)new BreakpointTable.HaltTag(printName, (int)id))));
        BreakpointInfo info = List(d).Breakpoints.Single();
        Assert.That((info.Hits, info.Script), Is.EqualTo((7UL, script)));
    }

    [Test]
    public async Task BadOptions_AreRefused_AndNothingIsSet()
    {
        // Arrange
        using DebuggeeSession session = Create();
        var d = new RequestDispatcher(session, AgentScripts.Create(session));
        _ = await StartHalted(session);
        ulong printName = Symbol(session, "demo!print_name");

        // Act
        BreakpointResponse core = Send(d, new BreakpointRequest { Action = BreakpointAction.Set, Address = printName, Core = 1 });
        BreakpointResponse syntax = Send(d, new BreakpointRequest { Action = BreakpointAction.Set, Address = printName, Script = "x = ;" });
        BreakpointResponse noEngine = Send(new RequestDispatcher(session, null), new BreakpointRequest { Action = BreakpointAction.Set, Address = printName, Script = "x = 1;" });

        // Assert
        Assert.That((core.Status, core.Message), Is.EqualTo((Status.InvalidArgument, "core 1 does not exist: the guest has 1 core(s), 0 to 0.")));
        Assert.That(syntax.Status, Is.Not.EqualTo(Status.Ok));
        Assert.That(syntax.Message, Does.Contain("x = ;"), "the script engine's message with the line");
        Assert.That(noEngine.Status, Is.EqualTo(Status.Unsupported));
        Assert.That(List(d).Breakpoints, Is.Empty);
        Assert.That(session.Vm.CodeBreakpoints, Is.Empty);
    }
}
