// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Events;
using HyperDbgRemote.VmxDriver;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.Agent.Tests;

/// <summary>The event manager's <c>!cpuid</c>, <c>!exception</c>, <c>!interrupt</c> and <c>!syscall</c> events: what the
/// VM traps follows the enabled events, filters and stages, $context, short-circuit, refused values.</summary>
public sealed class GuestEventManagerTests
{
    private static IoEventSpec Guest(GuestEventKinds kind, ulong? value, Func<EventInvocation, string?>? script = null) =>
        new() { Direction = IoEventDirection.In, GuestEvent = new GuestEventFilter(kind, value), Script = new FakeScript(script ?? (_ => null)) };

    /// <summary>CPUID leaf 0, leaf 0x40000000, leaf 0 again; RBX of the last is kept in RSI.</summary>
    private static AgentTestVm CpuidProgram() => new(a =>
    {
        a.xor(eax, eax);
        a.cpuid();
        a.mov(eax, 0x4000_0000);
        a.cpuid();
        a.mov(ebx, 0x1234);
        a.xor(eax, eax);
        a.cpuid();
        a.mov(rsi, rbx);
        a.hlt();
    });

    [Test]
    public void TrappedKinds_FollowTheEnabledEvents()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        RegisteredEvent c = t.Events.Register(Guest(GuestEventKinds.Cpuid, null));
        RegisteredEvent i = t.Events.Register(Guest(GuestEventKinds.Interrupt, 0x20));
        Assert.That(t.Vm.TrappedGuestEvents, Is.EqualTo(GuestEventKinds.Cpuid | GuestEventKinds.Interrupt));
        Assert.That(t.Vm.Cores[0].Controls.IsPortSet(0), Is.False, "a guest event traps no port");

        t.Events.SetEnabled(c.Id, false);
        Assert.That(t.Vm.TrappedGuestEvents, Is.EqualTo(GuestEventKinds.Interrupt));
        t.Events.Clear(i.Id);
        Assert.That(t.Vm.TrappedGuestEvents, Is.EqualTo(GuestEventKinds.None));
    }

    [TestCase(GuestEventKinds.Exception, 0x20UL, "exceptions are vectors 0 to 1f")]
    [TestCase(GuestEventKinds.Interrupt, 0x1FUL, "external interrupts are vectors 20 to ff")]
    [TestCase(GuestEventKinds.Interrupt, 0x100UL, "external interrupts are vectors 20 to ff")]
    [TestCase(GuestEventKinds.Interrupt, null, "needs a vector")]
    [TestCase(GuestEventKinds.Cpuid, 0x1_0000_0000UL, "EAX is 0 to ffffffff")]
    [TestCase(GuestEventKinds.Sysret, 0x3CUL, "!sysret takes no value")]
    [TestCase(GuestEventKinds.Exception | GuestEventKinds.Cpuid, 1UL, "is unknown")]
    [TestCase(GuestEventKinds.MsrRead, 0x1_0000_0000UL, "!msrread: MSR 100000000 is invalid: ECX is 0 to ffffffff")]
    [TestCase(GuestEventKinds.MsrWrite, 0x1_0000_0000UL, "!msrwrite: MSR 100000000 is invalid")]
    [TestCase(GuestEventKinds.CrWrite, 3UL, "!crwrite: control register 3 is not supported: 0 for CR0 or 4 for CR4")]
    [TestCase(GuestEventKinds.CrWrite, null, "!crwrite: give the control register")]
    [TestCase(GuestEventKinds.DebugRegister, 7UL, "!dr takes no value")]
    [TestCase(GuestEventKinds.Tsc, 1UL, "!tsc takes no value")]
    [TestCase(GuestEventKinds.Pmc, 0UL, "!pmc takes no value")]
    [TestCase(GuestEventKinds.Mode, 2UL, "!mode: mode 2 is invalid")]
    public void Register_BadValue_RefusedAndNothingChanged(GuestEventKinds kind, ulong? value, string message)
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);

        Assert.That(() => t.Events.Register(Guest(kind, value)), Throws.TypeOf<EventManagerException>().With.Message.Contains(message));
        Assert.That(t.Events.Events, Is.Empty);
        Assert.That(t.Vm.TrappedGuestEvents, Is.EqualTo(GuestEventKinds.None));
    }

    [Test]
    public void Mode_WithoutPidOrWithPostStage_Refused()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);

        Assert.That(() => t.Events.Register(Guest(GuestEventKinds.Mode, 3)), Throws.TypeOf<EventManagerException>().With.Message.Contains("give its pid"));
        Assert.That(() => t.Events.Register(Guest(GuestEventKinds.Mode, 3) with { ProcessId = 1, Stage = IoEventStage.Post }),
            Throws.TypeOf<EventManagerException>().With.Message.Contains("only the pre stage"));
        Assert.That(t.Events.Events, Is.Empty);
        Assert.That(t.Vm.TrappedGuestEvents, Is.EqualTo(GuestEventKinds.None));
    }

    [Test]
    public void CrWrite_Mask_OnlyWritesChangingAMaskedBitTrigger()
    {
        // Three MOV to CR4: OSFXSR (bit 9) set, the same value again, then OSXMMEXCPT (bit 10) set.
        using var t = new AgentTestVm(a =>
        {
            a.mov(rax, cr4);
            a.or(rax, 0x200);
            a.mov(cr4, rax);
            a.mov(cr4, rax);
            a.or(rax, 0x400);
            a.mov(cr4, rax);
            a.hlt();
        });
        var all = new List<string>();
        var masked = new List<string>();
        t.Events.Register(Guest(GuestEventKinds.CrWrite, 4, inv =>
        {
            all.Add($"cr{inv.Context:x}");
            return null;
        }));
        t.Events.Register(Guest(GuestEventKinds.CrWrite, 4, inv =>
        {
            masked.Add($"cr{inv.Context:x}");
            return null;
        }) with
        { GuestEvent = new GuestEventFilter(GuestEventKinds.CrWrite, 4) { Mask = 0x400 } });
        t.Events.Register(Guest(GuestEventKinds.CrWrite, 0, _ => throw new AssertionException("no MOV to CR0")));

        t.Run();

        Assert.That(all, Is.EqualTo(new[] { "cr4", "cr4" }), "the write of the same value changes no bit: no exit, as under VT-x");
        Assert.That(masked, Is.EqualTo(new[] { "cr4" }), "only the write that changes bit 10");
    }

    [Test]
    public void Cpuid_FilterByLeaf_ContextIsTheLeaf_StagesAsForIo()
    {
        using AgentTestVm t = CpuidProgram();
        var log = new List<string>();
        t.Events.Register(Guest(GuestEventKinds.Cpuid, 0x4000_0000, inv =>
        {
            log.Add($"leaf:{inv.Context:x}:{inv.StageNumber}");
            return null;
        }) with
        { Stage = IoEventStage.All });
        t.Events.Register(Guest(GuestEventKinds.Cpuid, null, inv =>
        {
            log.Add($"all:{inv.Context:x}");
            return null;
        }));

        t.Run();

        Assert.That(log, Is.EqualTo(new[] { "all:0", "leaf:40000000:0", "all:40000000", "leaf:40000000:1", "all:0" }));
    }

    [Test]
    public void Cpuid_ScOn_LeavesTheRegisters_EventScZeroLetsOneThrough()
    {
        using AgentTestVm t = CpuidProgram();
        t.Events.Register(Guest(GuestEventKinds.Cpuid, 0, inv =>
        {
            inv.ShortCircuit = inv.Core.ReadRegister(GuestRegister.Rbx) == 0x1234;
            return null;
        }) with
        { ShortCircuit = false });

        t.Run();

        Assert.That(t.Vm.Cores[0].ReadRegister(GuestRegister.Rsi), Is.EqualTo(0x1234UL), "the last CPUID 0 was skipped");
    }

    [Test]
    public void Cpuid_ProcessFilter_OtherProcessNeverTriggers()
    {
        using AgentTestVm t = CpuidProgram();
        int triggers = 0;
        uint pid = t.Vm.OsProfile.Current(t.Vm.Cores[0]).ProcessId;
        t.Events.Register(Guest(GuestEventKinds.Cpuid, null, _ =>
        {
            triggers++;
            return null;
        }) with
        { ProcessId = pid + 1, Core = 0 });

        t.Run();

        Assert.That(triggers, Is.Zero);
    }
}
