// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Collections.Concurrent;
using Iced.Intel;
using static HyperDbgRemote.VmxDriver.Tests.Privilege.RingGuest;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests.Privilege;

/// <summary>
/// <c>!sysret</c> (<see cref="GuestEventKinds.Sysret"/>), HyperDbg's EFER hook: while it is trapped the engine's EFER.SCE
/// is clear, its SYSRET raises #UD and the VM performs the SYSRET as the SDM says (Vol. 2B, "SYSRET"), register by
/// register; SYSCALL keeps working; the guest reads and writes its own EFER (SCE set) with RDMSR/WRMSR.
/// </summary>
public sealed class SysretEventTests
{
    private const ulong Kernel = Results;
    private const ulong User = Results + 0x100;
    private const ulong EferSce = 1;
    private const ulong SysretR11 = 0x1_0A83; // RF (dropped by SYSRET), DF, IF, SF, CF, bit 1

    private sealed record Seen(GuestEventKinds Kind, ExitStage Stage, ulong Context, ulong Rip, ulong RipNow, ulong Cs, ulong Ss, ulong Rflags);

    private sealed class Recorder(Action<GuestEventExit>? action = null) : IVmExitHandler
    {
        public ConcurrentQueue<Seen> Events { get; } = [];

        public void OnIoExit(IoExit ioExit)
        {
        }

        public void OnGuestEvent(GuestEventExit guestEvent)
        {
            Vcpu c = guestEvent.Core;
            Events.Enqueue(new Seen(guestEvent.Kind, guestEvent.Stage, guestEvent.Context, guestEvent.Rip, c.ReadRegister(GuestRegister.Rip),
                c.ReadRegister(GuestRegister.Cs), c.ReadRegister(GuestRegister.Ss), c.ReadRegister(GuestRegister.Rflags)));
            if (guestEvent.Stage == ExitStage.Pre)
            {
                guestEvent.PostStageRequested = true;
            }

            action?.Invoke(guestEvent);
        }
    }

    [Test]
    public void Sysret_Trapped_RoundTripRing3SyscallSysretq_PerformedRegisterByRegister_GuestSeesItsEferSce()
    {
        // Arrange: user: STD, SYSCALL, then records; the handler records EFER (RDMSR), writes it back (WRMSR), loads R11
        // and SYSRETQs.
        using TestVm t = Create(
            a =>
            {
                a.mov(ebx, 0x5A5A);
                a.std();
                a.syscall();
                RecordUserAndEnd(a, User);
            },
            a => EnableSyscall(a, sce: true));
        ulong sysretAt = WriteSyscallHandler(t, a =>
        {
            a.mov(ecx, 0xC000_0080);
            a.rdmsr();
            a.mov(__dword_ptr[Kernel + 56], eax);
            a.wrmsr();
            a.rdmsr();
            a.mov(__dword_ptr[Kernel + 64], eax);
        });
        var handler = new Recorder();
        t.Vm.ExitHandler = handler;
        t.Vm.TrappedGuestEvents = GuestEventKinds.Sysret | GuestEventKinds.Syscall;

        // Act
        t.Run();

        // Assert: SYSCALL, performed with SCE hidden from the engine, entered the kernel as usual.
        ulong K(int slot) => Read(t.Vm.Memory, Kernel + (ulong)(slot * 8));
        Assert.That(K(0), Is.EqualTo(UserCode + 8), "RCX: the instruction after SYSCALL");
        Assert.That(K(3), Is.EqualTo(StarKernel), "CS: STAR[47:32]");
        Assert.That(K(7) & EferSce, Is.EqualTo(EferSce), "RDMSR of EFER in the kernel: the guest's SCE");
        Assert.That(K(8) & EferSce, Is.EqualTo(EferSce), "RDMSR after WRMSR of the same value");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Efer) & EferSce, Is.EqualTo(EferSce), "the debugger's view of EFER");

        // SYSRETQ, performed by the VM: CS = STAR[63:48] + 16 | 3, SS = STAR[63:48] + 8 | 3, RIP = RCX,
        // RFLAGS = R11 AND 3C7FD7h OR 2, RSP unchanged.
        ulong U(int slot) => Read(t.Vm.Memory, User + (ulong)(slot * 8));
        Assert.That(U(0), Is.EqualTo(UserCs), "CS");
        Assert.That(U(1), Is.EqualTo(UserSs), "SS");
        Assert.That(U(2), Is.EqualTo(UserStack), "RSP");
        Assert.That(U(3), Is.EqualTo((SysretR11 & 0x3C7FD7) | 2), "RFLAGS from R11 without RF");
        Assert.That(Read(t.Vm.Memory, Results + 0xF08), Is.EqualTo(UserCs), "the final HLT faulted at CPL 3");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(0x5A5A), "RBX untouched");

        // The events: SYSCALL's pre and post, then SYSRET's pre (at the instruction, context = its RIP, ring 0) and post
        // (at the user's next instruction, ring 3).
        Seen[] sysret = [.. handler.Events.Where(e => e.Kind == GuestEventKinds.Sysret)];
        Assert.That(sysret, Has.Length.EqualTo(2));
        Assert.That(sysret[0], Is.EqualTo(new Seen(GuestEventKinds.Sysret, ExitStage.Pre, sysretAt, sysretAt, sysretAt, StarKernel, StarKernel + 8, sysret[0].Rflags)));
        Assert.That(sysret[1] with { Rflags = 0 }, Is.EqualTo(new Seen(GuestEventKinds.Sysret, ExitStage.Post, sysretAt, sysretAt, UserCode + 8, UserCs, UserSs, 0)));
        Assert.That(sysret[1].Rflags, Is.EqualTo((SysretR11 & 0x3C7FD7) | 2));
        Assert.That(handler.Events.Count(e => e.Kind == GuestEventKinds.Syscall), Is.EqualTo(2), "SYSCALL's two stages");
    }

    [Test]
    public void Sysret_TrapRemovedAtTheFirstSysret_EngineGetsSceBack_SecondSysretIsTheEngines()
    {
        // Two round trips; the first SYSRET's pre stage stops trapping SYSRET: the core shows the engine SCE again at its
        // next block boundary, and the second SYSRETQ is the engine's own (no event).
        using TestVm t = Create(
            a =>
            {
                a.syscall();
                a.syscall();
                RecordUserAndEnd(a, User);
            },
            a => EnableSyscall(a, sce: true));
        WriteSyscallHandler(t, _ => { });
        var handler = new Recorder(e => e.Core.Machine.TrappedGuestEvents = GuestEventKinds.None);
        t.Vm.ExitHandler = handler;
        t.Vm.TrappedGuestEvents = GuestEventKinds.Sysret;

        t.Run();

        Assert.That(handler.Events.Select(e => (e.Kind, e.Stage)), Is.EqualTo(new[] { (GuestEventKinds.Sysret, ExitStage.Pre), (GuestEventKinds.Sysret, ExitStage.Post) }), "the first SYSRET only");
        Assert.That(t.Core0.Context.SyscallEnableHidden, Is.False, "SCE is the engine's again");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Efer) & EferSce, Is.EqualTo(EferSce));
        Assert.That(Read(t.Vm.Memory, User), Is.EqualTo(UserCs), "both returns reached ring 3");
    }

    [Test]
    public void Sysret_Trapped_ShortCircuited_GoesOnAfterTheInstructionInRing0()
    {
        using TestVm t = Create(a => a.syscall(), a => EnableSyscall(a, sce: true));
        ulong sysretAt = WriteSyscallHandler(t, _ => { }, after: a =>
        {
            a.mov(ax, cs);
            a.mov(__word_ptr[Kernel + 72], ax);
            a.hlt();
        });
        t.Vm.ExitHandler = new Recorder(e => e.SkipInstruction = e.Kind == GuestEventKinds.Sysret);
        t.Vm.TrappedGuestEvents = GuestEventKinds.Sysret;

        t.Run();

        Assert.That(Read(t.Vm.Memory, Kernel + 72) & 0xFFFF, Is.EqualTo(StarKernel), "still in ring 0 after the skipped SYSRETQ");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rip), Is.GreaterThan(sysretAt));
    }

    [Test]
    public void Sysret_Trapped_GuestSceClear_RaisesUd()
    {
        // The kernel clears SCE (WRMSR, virtualised) and SYSRETQs: #UD at the SYSRETQ, in ring 0; no !sysret event.
        using TestVm t = Create(a => a.syscall(), a => EnableSyscall(a, sce: true));
        ulong sysretAt = WriteSyscallHandler(t, a =>
        {
            a.mov(ecx, 0xC000_0080);
            a.rdmsr();
            a.and(eax, ~1);
            a.wrmsr();
        });
        Handler(t, 6, 0x8E, dpl: 0, ist: 0, a =>
        {
            RecordFrame(a, Kernel + 0x80, errorCode: false);
            a.hlt();
        });
        var handler = new Recorder();
        t.Vm.ExitHandler = handler;
        t.Vm.TrappedGuestEvents = GuestEventKinds.Sysret;

        t.Run();

        Assert.That(Read(t.Vm.Memory, Kernel + 0x88), Is.EqualTo(sysretAt), "#UD at the SYSRETQ");
        Assert.That(Read(t.Vm.Memory, Kernel + 0x90), Is.EqualTo(StarKernel), "from ring 0");
        Assert.That(handler.Events, Is.Empty);
        Assert.That(t.Core0.ReadRegister(GuestRegister.Efer) & EferSce, Is.Zero, "the guest's own EFER.SCE");
    }

    [Test]
    public void Sysret_Trapped_NonCanonicalRcx_RaisesGpInRing0()
    {
        using TestVm t = Create(a => a.syscall(), a => EnableSyscall(a, sce: true));
        ulong sysretAt = WriteSyscallHandler(t, a => a.mov(rcx, 0x8000_0000_0000_0000UL));
        Handler(t, 13, 0x8E, dpl: 0, ist: 0, a =>
        {
            RecordFrame(a, Kernel + 0x80, errorCode: true);
            a.mov(rax, __qword_ptr[rsp]);
            a.mov(__qword_ptr[Kernel + 0xC0], rax);
            a.hlt();
        });
        t.Vm.ExitHandler = new Recorder();
        t.Vm.TrappedGuestEvents = GuestEventKinds.Sysret;

        t.Run();

        Assert.That(Read(t.Vm.Memory, Kernel + 0x88), Is.EqualTo(sysretAt), "#GP at the SYSRETQ");
        Assert.That(Read(t.Vm.Memory, Kernel + 0x90), Is.EqualTo(StarKernel), "from ring 0");
        Assert.That(Read(t.Vm.Memory, Kernel + 0xC0), Is.Zero, "error code 0");
    }

    [Test]
    public void TryDecodeSysret_PrefixesAndRex()
    {
        Assert.That(Internal.Execution.FastSystemCalls.TryDecodeSysret([0x48, 0x0F, 0x07], out int length, out bool w), Is.True);
        Assert.That((length, w), Is.EqualTo((3, true)));
        Assert.That(Internal.Execution.FastSystemCalls.TryDecodeSysret([0x0F, 0x07], out length, out w), Is.True);
        Assert.That((length, w), Is.EqualTo((2, false)));
        Assert.That(Internal.Execution.FastSystemCalls.TryDecodeSysret([0x66, 0x48, 0x0F, 0x07], out length, out w), Is.True);
        Assert.That((length, w), Is.EqualTo((4, true)));
        Assert.That(Internal.Execution.FastSystemCalls.TryDecodeSysret([0x0F, 0x0B], out _, out _), Is.False, "UD2");
        Assert.That(Internal.Execution.FastSystemCalls.TryDecodeSysret([0x48, 0x48, 0x0F, 0x07], out _, out _), Is.False, "REX must come last");
        Assert.That(Internal.Execution.FastSystemCalls.TryDecodeSysret([0x0F], out _, out _), Is.False);
    }

    /// <summary>The SYSCALL handler: records RCX, R11, RSP, CS and SS, runs <paramref name="body"/> with RCX saved in
    /// R12, loads R11 and SYSRETQs; returns the SYSRETQ's address.</summary>
    private static ulong WriteSyscallHandler(TestVm t, Action<Assembler> body, Action<Assembler>? after = null)
    {
        (byte[] code, ulong[] labels) = TestVm.Assemble(64, SyscallHandler, a =>
        {
            Label sysret = a.CreateLabel();
            a.mov(__qword_ptr[Kernel], rcx);
            a.mov(__qword_ptr[Kernel + 8], r11);
            a.mov(__qword_ptr[Kernel + 16], rsp);
            a.xor(eax, eax);
            a.mov(ax, cs);
            a.mov(__qword_ptr[Kernel + 24], rax);
            a.mov(ax, ss);
            a.mov(__qword_ptr[Kernel + 32], rax);
            a.mov(r12, rcx);
            body(a);
            a.mov(rax, 0x8000_0000_0000_0000UL);
            a.cmp(rcx, rax);
            Label keep = a.CreateLabel();
            a.je(keep);
            a.mov(rcx, r12);
            a.Label(ref keep);
            a.mov(r11, SysretR11);
            a.Label(ref sysret);
            a.sysretq();
            after?.Invoke(a);
            return [sysret];
        });
        t.Vm.Memory.Write(SyscallHandler, code);
        return labels[0];
    }
}
