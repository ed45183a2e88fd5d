// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Events;
using HyperDbgRemote.Agent.Messaging;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Tests.Shared;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Guests;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.Agent.Tests;

public sealed class DebuggeeSessionTests
{
    private static DebuggeeSession Create() => TestPrograms.OutLoopSession();

    private static async Task<T> Next<T>(DebuggeeSession session)
        where T : AgentMessage
    {
        while (true)
        {
            AgentMessage m = await session.Messages.TakeAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
            if (m is T t)
            {
                return t;
            }
        }
    }

    [Test]
    public async Task BreakEvent_HaltedMessageNamesEventStagePortAndInstruction()
    {
        using DebuggeeSession session = Create();
        RegisteredEvent e = session.Events.Register(new IoEventSpec { Direction = IoEventDirection.Out, Port = 0x80 });
        session.Start();

        HaltedMessage halted = await Next<HaltedMessage>(session);

        Assert.That(halted, Is.EqualTo(halted with { Core = 0, Reason = "event", EventId = e.Id, Stage = "pre", Port = 0x80, Rip = 0x10002, Disassembly = "out 80h,al" }));
        Assert.That(session.ReadRegisters(0).Registers["rax"] & 0xFF, Is.EqualTo((ulong)'Z'));
        session.WriteRegister(0, "rax", 0x42);
        session.Events.Clear(e.Id);
        session.Continue();
        Assert.That(await Next<RunningMessage>(session), Is.Not.Null);
        Eventually.Until(() => session.Devices.PostCode.Writes >= 2 && session.Devices.PostCode.LastCode == (byte)'Z', "the loop runs on and writes 'Z' again");
    }

    [Test]
    public async Task Pause_BreakInMessageAndStateRules()
    {
        using DebuggeeSession session = Create();
        Assert.That(() => session.Continue(), Throws.TypeOf<SessionException>().With.Message.Contains("not halted"));
        session.Start();
        Assert.That(() => session.ReadRegisters(0), Throws.TypeOf<SessionException>().With.Message.Contains("halted"));
        Assert.That(session.Pause(TimeSpan.FromSeconds(5)), Is.True);
        HaltedMessage halted = await Next<HaltedMessage>(session);
        Assert.That(halted.Reason, Is.EqualTo("break-in"));
        Assert.That(halted.Disassembly, Is.Not.Empty);
        Assert.That(() => session.Core(3), Throws.TypeOf<SessionException>().With.Message.Contains("core 3"));
    }

    [Test]
    public async Task Running_VirtualReadsAndDisassembly_AreRefused_PhysicalReadsAreNot()
    {
        // Arrange: the guest runs
        using DebuggeeSession session = Create();
        session.Start();

        // Act and assert: what would call into the running engine is refused by the agent itself
        Assert.That(() => session.ReadMemory(0x10000, 16, physical: false), Throws.TypeOf<SessionException>().With.Message.Contains("reading virtual memory needs a halted debuggee"));
        Assert.That(() => session.Disassemble(0, 0x10000, 2), Throws.TypeOf<SessionException>().With.Message.Contains("disassembling needs a halted debuggee"));
        Assert.That(() => session.WriteMemory(0x10000, [0x90], physical: true), Throws.TypeOf<SessionException>().With.Message.Contains("writing memory needs a halted debuggee"));
        Assert.That(session.ReadMemory(0x10000, 2, physical: true), Is.EqualTo(new byte[] { 0xB0, (byte)'Z' }), "physical memory is the machine's RAM");
        Assert.That(session.Pause(TimeSpan.FromSeconds(10)), Is.True);
        _ = await Next<HaltedMessage>(session);
        Assert.That(session.ReadMemory(0x10000, 2, physical: false), Is.EqualTo(new byte[] { 0xB0, (byte)'Z' }));
    }

    [Test]
    public async Task Continue_FromAnotherHost_WaitsForTheRequestActingOnTheHalt()
    {
        // Arrange: halted
        using DebuggeeSession session = Create();
        session.Start();
        Assert.That(session.Pause(TimeSpan.FromSeconds(10)), Is.True);
        _ = await Next<HaltedMessage>(session);
        Task? other = null;
        bool haltedAfterOthersContinue = false;

        // Act: while one request acts on the halted core, another host continues
        session.WhileHalted("a test request", () =>
        {
            other = Task.Run(() => session.Continue());

            // Without the gate the continue would be done long before this; with it, it cannot finish meanwhile.
            bool finished = other.Wait(TimeSpan.FromMilliseconds(300));
            haltedAfterOthersContinue = !finished && session.Vm.IsHalted;
            return true;
        });
        await other!.WaitAsync(TimeSpan.FromSeconds(30));

        // Assert: the first request saw the halt to its end; the continue then ran
        Assert.That(haltedAfterOthersContinue, Is.True);
        Assert.That(await Next<RunningMessage>(session), Is.Not.Null);
    }

    [Test]
    public async Task Limits_MemoryAndDisassembly_Refused()
    {
        using DebuggeeSession session = Create();
        session.Start(initialBreak: true);
        _ = await Next<HaltedMessage>(session);
        Assert.That(() => session.ReadMemory(0, session.Limits.MaxMemoryBytes + 1, physical: true), Throws.TypeOf<SessionException>().With.Message.Contains("exceeds the limit"));
        Assert.That(() => session.Disassemble(0, 0x10000, session.Limits.MaxDisassemblyInstructions + 1), Throws.TypeOf<SessionException>().With.Message.Contains("out of range"));
        Assert.That(session.Disassemble(0, 0x10000, 2).Select(i => i.Text), Is.EqualTo(new[] { "mov al,5Ah", "out 80h,al" }));
        Assert.That(session.ReadMemory(0x10000, 2, physical: true), Is.EqualTo(new byte[] { 0xB0, 0x5A }));
        Assert.That(session.ReadMemory(0x3FFF_FFFF, 4, physical: true), Is.Empty, "unmapped memory is a short read, not an error");
    }

    [Test]
    public async Task Translation_NeedsAHaltAndAnExistingCore_ThenWalksTheCoresPaging()
    {
        using DebuggeeSession session = Create();
        session.Start();
        Assert.That(() => session.WalkPageTables(0, 0x10000), Throws.TypeOf<SessionException>().With.Message.Contains("needs a halted debuggee"));
        Assert.That(() => session.FindVirtualAddresses(0, 0x10000, out _), Throws.TypeOf<SessionException>().With.Message.Contains("needs a halted debuggee"));
        Assert.That(session.Pause(TimeSpan.FromSeconds(5)), Is.True);
        await Next<HaltedMessage>(session);

        Assert.That(() => session.WalkPageTables(3, 0x10000), Throws.TypeOf<SessionException>().With.Message.Contains("core 3"));
        PageWalk walk = session.WalkPageTables(0, 0x10123);
        Assert.That(walk.Mode, Is.EqualTo(PagingMode.FourLevel));
        Assert.That(walk.Physical, Is.EqualTo(0x10123UL), "the flat64 loader maps the first 4 GiB one to one");
        Assert.That(walk.PageSize, Is.EqualTo(2UL << 20));
        Assert.That(walk.Entries.Select(e => e.Level), Is.EqualTo(new[] { PageTableLevel.Pml4e, PageTableLevel.Pdpte, PageTableLevel.Pde }));
        Assert.That(session.WalkPageTables(0, 0x0000_8000_0000_0000).IsNonCanonical, Is.True);
        Assert.That(session.FindVirtualAddresses(0, 0x10123, out bool truncated), Is.EqualTo(new[] { 0x10123UL }));
        Assert.That(truncated, Is.False);
    }
}
