// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Collections.Concurrent;
using HyperDbgRemote.VmxDriver.Internal.Execution;
using HyperDbgRemote.VmxDriver.Tests.Privilege;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// The instruction events (<see cref="GuestEventKinds.InstructionEvents"/>: HyperDbg's <c>!msrread</c>,
/// <c>!msrwrite</c>, <c>!crwrite</c>, <c>!dr</c>, <c>!tsc</c>, <c>!pmc</c> on the engine's instruction intercepts
/// (<see cref="InstructionEventIntercepts"/>), <c>!mode</c> on the every-instruction callback (<see cref="InstructionWatch"/>)):
/// the context, RIP before and after, skipping, a halt in the pre stage and a step from it, and that only <c>!mode</c>
/// calls back every instruction.
/// </summary>
public sealed class InstructionEventTests
{
    private const uint MsrFsBase = 0xC000_0100;
    private const ulong Slot = TestVm.DataAddress;
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    private sealed record Seen(GuestEventKinds Kind, ExitStage Stage, ulong Context, ulong Rip, ulong RipNow, ulong Rax, ulong? NewValue, ulong? OldValue);

    /// <summary>Records every event; asks for the post stage; <paramref name="action"/> acts in each stage.</summary>
    private sealed class Handler(Action<GuestEventExit>? action = null) : IVmExitHandler
    {
        public ConcurrentQueue<Seen> Events { get; } = [];

        public void OnIoExit(IoExit ioExit)
        {
        }

        public void OnGuestEvent(GuestEventExit e)
        {
            Vcpu c = e.Core;
            Events.Enqueue(new Seen(e.Kind, e.Stage, e.Context, e.Rip, c.ReadRegister(GuestRegister.Rip), c.ReadRegister(GuestRegister.Rax), e.NewValue, e.OldValue));
            if (e.Stage == ExitStage.Pre)
            {
                e.PostStageRequested = true;
            }

            action?.Invoke(e);
        }
    }

    /// <summary>WRMSR FS.base = 0x1234_5678_9ABC (at label 0), RDMSR of it (label 1) stored at <see cref="Slot"/>, label 2
    /// after it.</summary>
    private static TestVm MsrGuest(out ulong[] at) => TestVm.Create64(a =>
    {
        Label wr = a.CreateLabel(), rd = a.CreateLabel(), after = a.CreateLabel();
        a.mov(ecx, MsrFsBase);
        a.mov(eax, 0x5678_9ABC);
        a.mov(edx, 0x1234);
        a.Label(ref wr);
        a.wrmsr();
        a.xor(eax, eax);
        a.xor(edx, edx);
        a.Label(ref rd);
        a.rdmsr();
        a.Label(ref after);
        a.shl(rdx, 32);
        a.or(rax, rdx);
        a.mov(__qword_ptr[Slot], rax);
        a.hlt();
        return [wr, rd, after];
    }, out at);

    [Test]
    public void MsrReadWrite_PreAtTheInstructionWithEcx_PostAfterIt_TheEnginePerformsThem()
    {
        using TestVm t = MsrGuest(out ulong[] at);
        var handler = new Handler();
        t.Vm.ExitHandler = handler;
        t.Vm.TrappedGuestEvents = GuestEventKinds.MsrRead | GuestEventKinds.MsrWrite;

        t.Run();

        Seen[] seen = [.. handler.Events];
        Assert.That(seen.Select(s => (s.Kind, s.Stage, s.Context, s.RipNow)), Is.EqualTo(new[]
        {
            (GuestEventKinds.MsrWrite, ExitStage.Pre, (ulong)MsrFsBase, at[0]),
            (GuestEventKinds.MsrWrite, ExitStage.Post, (ulong)MsrFsBase, at[0] + 2),
            (GuestEventKinds.MsrRead, ExitStage.Pre, (ulong)MsrFsBase, at[1]),
            (GuestEventKinds.MsrRead, ExitStage.Post, (ulong)MsrFsBase, at[2]),
        }));
        Assert.That(seen[3].Rax, Is.EqualTo(0x5678_9ABCUL), "the post stage sees RDMSR's result");
        Assert.That(TestVmRead(t, Slot), Is.EqualTo(0x1234_5678_9ABCUL));
    }

    [Test]
    public void MsrWrite_ShortCircuited_TheMsrKeepsItsValue_RdmsrSkippedKeepsEdxEax()
    {
        using TestVm t = MsrGuest(out ulong[] at);
        t.Vm.ExitHandler = new Handler(e => e.SkipInstruction = e.Stage == ExitStage.Pre);
        t.Vm.TrappedGuestEvents = GuestEventKinds.MsrWrite;

        t.Run();

        Assert.That(t.Core0.ReadMsr(MsrFsBase), Is.Zero, "WRMSR skipped");
        Assert.That(TestVmRead(t, Slot), Is.Zero, "RDMSR (not trapped) read the MSR the skipped WRMSR left alone");

        using TestVm t2 = MsrGuest(out _);
        t2.Vm.ExitHandler = new Handler(e => e.SkipInstruction = e.Stage == ExitStage.Pre);
        t2.Vm.TrappedGuestEvents = GuestEventKinds.MsrRead;
        t2.Run();
        Assert.That(t2.Core0.ReadMsr(MsrFsBase), Is.EqualTo(0x1234_5678_9ABCUL), "WRMSR ran");
        Assert.That(TestVmRead(t2, Slot), Is.Zero, "the skipped RDMSR left EDX:EAX as they were (0)");
    }

    [Test]
    public void CrWrite_MovToCr4_ContextIsTheRegisterNumber_NewAndOldValues_Cr3Ignored()
    {
        using TestVm t = TestVm.Create64(a =>
        {
            Label at = a.CreateLabel();
            a.mov(rax, cr3);
            a.mov(cr3, rax);
            a.mov(rax, cr4);
            a.mov(rbx, rax);
            a.or(rax, 0x200);
            a.Label(ref at);
            a.mov(cr4, rax);
            a.hlt();
            return [at];
        }, out ulong[] at);
        var handler = new Handler();
        t.Vm.ExitHandler = handler;
        t.Vm.TrappedGuestEvents = GuestEventKinds.CrWrite;

        t.Run();

        Seen[] seen = [.. handler.Events];
        Assert.That(seen, Has.Length.EqualTo(2), "MOV to CR3 is not !crwrite's");
        ulong old = seen[0].OldValue!.Value;
        Assert.That(seen[0] with { Rax = 0 }, Is.EqualTo(new Seen(GuestEventKinds.CrWrite, ExitStage.Pre, 4, at[0], at[0], 0, old | 0x200, old)));
        Assert.That(seen[1].Stage, Is.EqualTo(ExitStage.Post));
        Assert.That(seen[1].RipNow, Is.EqualTo(at[0] + 3));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Cr4), Is.EqualTo(old | 0x200), "the engine performed the write");
    }

    [Test]
    public void CrWrite_Skipped_Cr4KeepsItsValue()
    {
        using TestVm t = TestVm.Create64(a =>
        {
            a.mov(rax, cr4);
            a.mov(rbx, rax);
            a.or(rax, 0x200);
            a.mov(cr4, rax);
            a.hlt();
        });
        t.Vm.ExitHandler = new Handler(e => e.SkipInstruction = e.Stage == ExitStage.Pre);
        t.Vm.TrappedGuestEvents = GuestEventKinds.CrWrite;

        t.Run();

        Assert.That(t.Core0.ReadRegister(GuestRegister.Cr4), Is.EqualTo(t.Core0.ReadRegister(GuestRegister.Rbx)));
    }

    [Test]
    public void DebugRegister_MovToAndFromDr0_BothFire_ContextZero_TheWrittenValue()
    {
        using TestVm t = TestVm.Create64(a =>
        {
            a.mov(rax, 0x4000);
            a.mov(dr0, rax);
            a.mov(rbx, dr0);
            a.hlt();
        });
        var handler = new Handler();
        t.Vm.ExitHandler = handler;
        t.Vm.TrappedGuestEvents = GuestEventKinds.DebugRegister;

        t.Run();

        Seen[] pre = [.. handler.Events.Where(s => s.Stage == ExitStage.Pre)];
        Assert.That(pre.Select(s => (s.Kind, s.Context, s.NewValue)), Is.EqualTo(new (GuestEventKinds, ulong, ulong?)[]
        {
            (GuestEventKinds.DebugRegister, 0, 0x4000),
            (GuestEventKinds.DebugRegister, 0, null),
        }));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(0x4000UL));
    }

    [Test]
    public void Tsc_Rdtsc_ContextZero_SkippedLeavesRax_PerformedPostSeesTheCount()
    {
        using TestVm t = TestVm.Create64(a =>
        {
            a.mov(eax, 0x77);
            a.rdtsc();
            a.mov(rbx, rax);
            a.xor(eax, eax);
            a.rdtsc();
            a.hlt();
        });
        int n = 0;
        var handler = new Handler(e => e.SkipInstruction = e.Stage == ExitStage.Pre && n++ == 0);
        t.Vm.ExitHandler = handler;
        t.Vm.TrappedGuestEvents = GuestEventKinds.Tsc;

        t.Run();

        Assert.That(handler.Events.Select(s => (s.Kind, s.Stage, s.Context)), Is.EqualTo(new[]
        {
            (GuestEventKinds.Tsc, ExitStage.Pre, 0UL),
            (GuestEventKinds.Tsc, ExitStage.Pre, 0UL),
            (GuestEventKinds.Tsc, ExitStage.Post, 0UL),
        }), "the first RDTSC skipped (no post stage), the second performed");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(0x77UL), "the skipped RDTSC left RAX");
        Assert.That(handler.Events.Last().Rax, Is.Not.Zero, "the post stage sees the count");
    }

    [Test]
    public void Tsc_RdtscpNotOffered_RaisesUdWithoutAnEvent()
    {
        // CPUID 80000001h EDX bit 27 is clear on this CPU model: RDTSCP faults before any exit, as on such hardware.
        Assert.That((CpuidTable.Lookup(0x8000_0001, 0, 0).Edx >> 27) & 1, Is.Zero);
        using TestVm t = RingGuest.Create(_ => { }, a => a.rdtscp());
        RingGuest.Handler(t, 6, 0x8E, dpl: 0, ist: 0, h =>
        {
            h.mov(eax, 6);
            h.mov(__dword_ptr[RingGuest.Results], eax);
            h.hlt();
        });
        var handler = new Handler();
        t.Vm.ExitHandler = handler;
        t.Vm.TrappedGuestEvents = GuestEventKinds.Tsc;
        t.Run();
        Assert.That(handler.Events, Is.Empty);
        Assert.That(RingGuest.Read(t.Vm.Memory, RingGuest.Results) & 0xFF, Is.EqualTo(6UL), "#UD delivered");
    }

    [Test]
    public void Pmc_Rdpmc_PreStageAtTheInstruction_SkippedGoesOn()
    {
        using TestVm t = TestVm.Create64(a =>
        {
            Label at = a.CreateLabel();
            a.xor(ecx, ecx);
            a.Label(ref at);
            a.rdpmc();
            a.mov(ebx, 0x55);
            a.hlt();
            return [at];
        }, out ulong[] at);
        var handler = new Handler(e => e.SkipInstruction = true);
        t.Vm.ExitHandler = handler;
        t.Vm.TrappedGuestEvents = GuestEventKinds.Pmc;

        t.Run();

        Assert.That(handler.Events.Single(), Is.EqualTo(new Seen(GuestEventKinds.Pmc, ExitStage.Pre, 0, at[0], at[0], 0, null, null)));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(0x55UL), "went on after the skipped RDPMC");
    }

    [Test]
    public void Mode_KernelToUserToKernel_FiresAtTheFirstInstructionOfEachMode()
    {
        using TestVm t = RingGuest.Create(a =>
        {
            a.nop();
            a.hlt(); // #GP at CPL 3: the kernel's handler
        });
        var handler = new Handler();
        t.Vm.ExitHandler = handler;
        t.Vm.TrappedGuestEvents = GuestEventKinds.Mode;

        t.Run();

        Seen[] seen = [.. handler.Events.Where(s => s.Stage == ExitStage.Pre)];
        Assert.That(seen.Select(s => s.Context), Is.EqualTo(new[] { 3UL, 0UL }), "user mode (3), then kernel mode (0)");
        Assert.That(seen[0].RipNow, Is.EqualTo(RingGuest.UserCode), "the first user instruction");
        Assert.That(RingGuest.Read(t.Vm.Memory, RingGuest.Results + 0xF08), Is.EqualTo((ulong)RingGuest.UserCs), "#GP from ring 3");
    }

    [Test]
    public void Mode_ShortCircuited_TheThreadIsHeldUntilTheEventLetsItGo()
    {
        using TestVm t = RingGuest.Create(a => a.hlt());
        int held = 0;
        var handler = new Handler(e => e.SkipInstruction = e.Context == 3 && ++held < 4);
        t.Vm.ExitHandler = handler;
        t.Vm.TrappedGuestEvents = GuestEventKinds.Mode;

        t.Run();

        Seen[] user = [.. handler.Events.Where(s => s.Stage == ExitStage.Pre && s.Context == 3)];
        Assert.That(user, Has.Length.EqualTo(4), "skipped three times, then let through");
        Assert.That(user.Select(s => s.RipNow).Distinct(), Is.EqualTo(new[] { RingGuest.UserCode }));
    }

    [Test]
    public void MsrWrite_HaltInThePreStage_ResumeRunsTheInstructionOnceWithoutFiringAgain()
    {
        using TestVm t = MsrGuest(out ulong[] at);
        var halts = new BlockingCollection<VmHaltInfo>();
        t.Vm.Halted += (_, h) => halts.Add(h);
        var handler = new Handler(e =>
        {
            if (e.Stage == ExitStage.Pre)
            {
                t.Vm.Halt(e.Core, e, "wrmsr");
            }
        });
        t.Vm.ExitHandler = handler;
        t.Vm.TrappedGuestEvents = GuestEventKinds.MsrWrite;

        t.Vm.Start();
        Assert.That(halts.TryTake(out VmHaltInfo? halt, s_wait), Is.True, "halted in the WRMSR event");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rip), Is.EqualTo(at[0]));
        Assert.That(t.Core0.ReadMsr(MsrFsBase), Is.Zero, "not executed yet");
        t.Vm.Resume();

        Assert.That(t.Vm.WaitForStop(s_wait)?.Reason, Is.EqualTo(VmStopReason.AllCoresHalted));
        Assert.That(handler.Events.Select(s => s.Stage), Is.EqualTo(new[] { ExitStage.Pre, ExitStage.Post }), "one event, its two stages");
        Assert.That(TestVmRead(t, Slot), Is.EqualTo(0x1234_5678_9ABCUL));
        Assert.That(halt!.GuestEvent?.Kind, Is.EqualTo(GuestEventKinds.MsrWrite));
    }

    [Test]
    public void NoInstructionEvent_NoEveryInstructionCallback_OnlyModeTurnsItOn()
    {
        using TestVm t = MsrGuest(out _);
        t.Vm.ExitHandler = new Handler();
        t.Vm.TrappedGuestEvents = GuestEventKinds.InstructionEvents & ~GuestEventKinds.Mode;
        t.Run();
        Assert.That(t.Core0.Debug.Watches, Is.False, "the events on the intercepts need no every-instruction callback");
        Assert.That(t.Core0.Watch.Watched, Is.Zero);

        using TestVm t2 = MsrGuest(out _);
        t2.Vm.ExitHandler = new Handler();
        t2.Vm.TrappedGuestEvents = GuestEventKinds.Mode;
        t2.Run();
        Assert.That(t2.Core0.Debug.Watches, Is.True);
        Assert.That(t2.Core0.Watch.Watched, Is.Positive);
    }

    /// <summary>Each event on the intercepts: a loop runs its instruction five times among other code; the pre stage
    /// fires exactly once per execution, every one an intercept exit, and no instruction is looked at by the watch.</summary>
    [TestCase(GuestEventKinds.MsrRead)]
    [TestCase(GuestEventKinds.MsrWrite)]
    [TestCase(GuestEventKinds.CrWrite)]
    [TestCase(GuestEventKinds.DebugRegister)]
    [TestCase(GuestEventKinds.Tsc)]
    [TestCase(GuestEventKinds.Pmc)]
    public void EventOnTheIntercepts_FiresOncePerInstruction_NoInstructionWatched(GuestEventKinds kind)
    {
        const int Times = 5;
        ulong[] at = [];
        using TestVm t = TestVm.Create64(a =>
        {
            Label loop = a.CreateLabel(), instruction = a.CreateLabel();
            a.mov(esi, Times);
            a.Label(ref loop);
            a.add(r12, 3);
            a.Label(ref instruction);
            switch (kind)
            {
                case GuestEventKinds.MsrRead:
                    a.mov(ecx, MsrFsBase);
                    a.rdmsr();
                    break;
                case GuestEventKinds.MsrWrite:
                    a.mov(ecx, MsrFsBase);
                    a.xor(eax, eax);
                    a.xor(edx, edx);
                    a.wrmsr();
                    break;
                case GuestEventKinds.CrWrite:
                    a.mov(rax, cr4);
                    a.mov(cr4, rax);
                    break;
                case GuestEventKinds.DebugRegister:
                    a.mov(rax, dr7);
                    break;
                case GuestEventKinds.Tsc:
                    a.rdtsc();
                    break;
                default:
                    a.xor(ecx, ecx);
                    a.rdpmc();
                    break;
            }

            a.dec(esi);
            a.jnz(loop);
            a.hlt();
            return [instruction];
        }, out at);
        var handler = new Handler();
        t.Vm.ExitHandler = handler;
        t.Vm.TrappedGuestEvents = kind;

        t.Run();

        Seen[] pre = [.. handler.Events.Where(s => s.Stage == ExitStage.Pre)];
        Assert.That(pre, Has.Length.EqualTo(Times));
        Assert.That(pre.Select(s => s.Kind).Distinct(), Is.EqualTo(new[] { kind }));
        Assert.That(handler.Events.Count(s => s.Stage == ExitStage.Post), Is.EqualTo(Times));
        Assert.That(t.Core0.Intercepts.Exits, Is.EqualTo(Times), "each one an intercept exit");
        Assert.That(t.Core0.Watch.Watched, Is.Zero, "no instruction was looked at one by one");
        Assert.That(t.Core0.Debug.Watches, Is.False);
        Assert.That(t.Core0.ReadRegister(GuestRegister.R12), Is.EqualTo(3UL * Times));
    }

    [Test]
    public void MsrWrite_StepFromThePreStageHalt_ExecutesTheWrmsr_PostStageOnce()
    {
        using TestVm t = MsrGuest(out ulong[] at);
        var halts = new BlockingCollection<VmHaltInfo>();
        t.Vm.Halted += (_, h) => halts.Add(h);
        var handler = new Handler(e =>
        {
            if (e.Stage == ExitStage.Pre)
            {
                t.Vm.Halt(e.Core, e, "wrmsr");
            }
        });
        t.Vm.ExitHandler = handler;
        t.Vm.TrappedGuestEvents = GuestEventKinds.MsrWrite;

        t.Vm.Start();
        Assert.That(halts.TryTake(out VmHaltInfo? halt, s_wait), Is.True, "halted in the WRMSR event");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rip), Is.EqualTo(at[0]));
        Assert.That(t.Vm.Step(t.Core0), Is.True);
        Assert.That(halts.TryTake(out VmHaltInfo? stepped, s_wait), Is.True, "the step ended");
        Assert.That(stepped!.Reason, Is.EqualTo(HaltReason.Step));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rip), Is.EqualTo(at[0] + 2), "right after the WRMSR");
        Assert.That(t.Core0.ReadMsr(MsrFsBase), Is.EqualTo(0x1234_5678_9ABCUL), "the WRMSR executed");
        t.Vm.Resume();

        Assert.That(t.Vm.WaitForStop(s_wait)?.Reason, Is.EqualTo(VmStopReason.AllCoresHalted));
        Assert.That(handler.Events.Select(s => s.Stage), Is.EqualTo(new[] { ExitStage.Pre, ExitStage.Post }), "one event, its two stages");
        Assert.That(halt!.GuestEvent?.Kind, Is.EqualTo(GuestEventKinds.MsrWrite));
    }

    [Test]
    public void CrWrite_Lmsw_PerformedByTheModel_NoEvent()
    {
        // LMSW is a CR0 write to SVM (the intercept sees it) but not !crwrite's MOV: the model performs it (TS set from
        // a register, then MP from memory; PE stays set).
        using TestVm t = TestVm.Create64(a =>
        {
            a.mov(rax, cr0);
            a.and(eax, ~0xE);
            a.or(eax, 8);
            a.lmsw(ax);
            a.mov(rbx, cr0);
            a.mov(__word_ptr[Slot], 2);
            a.lmsw(__word_ptr[Slot]);
            a.mov(rcx, cr0);
            a.hlt();
        });
        var handler = new Handler();
        t.Vm.ExitHandler = handler;
        t.Vm.TrappedGuestEvents = GuestEventKinds.CrWrite;

        t.Run();

        Assert.That(handler.Events, Is.Empty);
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx) & 0xF, Is.EqualTo(9UL), "TS from AX, PE kept");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rcx) & 0xF, Is.EqualTo(3UL), "MP from memory, PE kept");
        Assert.That(t.Core0.Intercepts.Exits, Is.EqualTo(2));
    }

    [TestCase(new byte[] { 0x0F, 0x32 }, "Rdmsr", 2, 0, 0, false)]
    [TestCase(new byte[] { 0x66, 0x0F, 0x30 }, "Wrmsr", 3, 0, 0, false)]
    [TestCase(new byte[] { 0x0F, 0x31 }, "Rdtsc", 2, 0, 0, false)]
    [TestCase(new byte[] { 0x0F, 0x01, 0xF9 }, "Rdtscp", 3, 0, 0, false)]
    [TestCase(new byte[] { 0x0F, 0x33 }, "Rdpmc", 2, 0, 0, false)]
    [TestCase(new byte[] { 0x0F, 0x22, 0xE0 }, "MovToCr", 3, 4, 0, false)] // mov cr4, rax
    [TestCase(new byte[] { 0x45, 0x0F, 0x22, 0xC1 }, "MovToCr", 4, 8, 9, true)] // mov cr8, r9
    [TestCase(new byte[] { 0x0F, 0x23, 0xFB }, "MovToDr", 3, 7, 3, false)] // mov dr7, rbx
    [TestCase(new byte[] { 0x0F, 0x21, 0xC1 }, "MovFromDr", 3, 0, 1, false)] // mov rcx, dr0
    public void TryDecode_TheWatchedInstructions(byte[] bytes, string kind, int length, int register, int gpr, bool rex)
    {
        Assert.That(InstructionWatch.TryDecode(bytes, out InstructionKind k, out int l, out int r, out int g, out bool x), Is.True);
        Assert.That((k.ToString(), l, r, g, x), Is.EqualTo((kind, length, register, gpr, rex)));
    }

    [TestCase(new byte[] { 0x0F, 0x05 })] // syscall
    [TestCase(new byte[] { 0x0F, 0x01, 0xD0 })] // xgetbv
    [TestCase(new byte[] { 0x0F })]
    [TestCase(new byte[] { 0x90 })]
    public void TryDecode_OtherInstructions_False(byte[] bytes) =>
        Assert.That(InstructionWatch.TryDecode(bytes, out _, out _, out _, out _, out _), Is.False);

    private static ulong TestVmRead(TestVm t, ulong address) => RingGuest.Read(t.Vm.Memory, address);
}
