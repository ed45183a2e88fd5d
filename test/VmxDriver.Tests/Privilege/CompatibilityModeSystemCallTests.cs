// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Collections.Concurrent;
using HyperDbgRemote.VmxDriver.Internal.Engine;
using Iced.Intel;
using static HyperDbgRemote.VmxDriver.Tests.Privilege.RingGuest;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests.Privilege;

/// <summary>
/// A 32-bit program in compatibility mode (a long-mode guest's ring 3 with CS 1Bh, a 32-bit code segment) making a
/// system call: SYSCALL to CSTAR's 64-bit kernel entry (AMD's rule; our CPU is AMD's), CS and SS loaded whole as flat
/// ring-0 segments, then SYSRET without REX.W back to compatibility mode (CS = STAR[63:48] OR 3, SS = + 8 OR 3,
/// EIP = ECX), register by register; the same with <c>!syscall</c> and <c>!sysret</c> set (the VM performs the SYSRET),
/// and the final HLT's #GP delivered from compatibility mode to the 64-bit handler. SYSENTER from compatibility mode
/// raises #UD, as on AMD's CPUs (Intel's would enter the 64-bit kernel).
/// </summary>
public sealed class CompatibilityModeSystemCallTests
{
    private const ulong Kernel = Results;
    private const ulong User = Results + 0x100;
    private const ulong CstarHandler = SyscallHandler + 0x800;
    private const ushort UserSs32 = 0x23;
    private const uint UserFlagsWithDf = 0x602;

    /// <summary>Six MOV r32, imm32 (5 bytes each) and STD: the SYSCALL's address.</summary>
    private const ulong SyscallAt = UserCode + (6 * 5) + 1;

    private sealed record Seen(GuestEventKinds Kind, ExitStage Stage, ulong Context, ulong RipNow, SegmentCache Cs, SegmentCache Ss, int Cpl);

    private sealed class Recorder : IVmExitHandler
    {
        public ConcurrentQueue<Seen> Events { get; } = [];

        public void OnIoExit(IoExit ioExit)
        {
        }

        public void OnGuestEvent(GuestEventExit guestEvent)
        {
            Vcpu c = guestEvent.Core;
            Events.Enqueue(new Seen(guestEvent.Kind, guestEvent.Stage, guestEvent.Context, c.ReadRegister(GuestRegister.Rip),
                c.Context.ReadSegment(GuestRegister.Cs), c.Context.ReadSegment(GuestRegister.Ss), c.Context.ReadPrivilegeLevel()));
            if (guestEvent.Stage == ExitStage.Pre)
            {
                guestEvent.PostStageRequested = true;
            }
        }
    }

    [TestCase(false, Description = "the engine's own SYSRET")]
    [TestCase(true, Description = "!syscall and !sysret set: the VM performs the SYSRET")]
    public void Syscall_FromCompatibilityMode_EntersCstarIn64BitCode_Sysret32ReturnsToCompatibilityMode(bool trapped)
    {
        // Arrange: the user program (32-bit code) sets its registers and DF, SYSCALLs, then runs DEC EAX (48h: REX.W in
        // 64-bit code, so EAX one lower proves compatibility mode), records its registers and ends with HLT (#GP at CPL 3).
        // LSTAR's entry would record a marker; CSTAR's records what it sees, proves 64-bit code with R8, and SYSRETs
        // without REX.W.
        using TestVm t = Create(
            a =>
            {
                a.mov(eax, 0x1111_1111);
                a.mov(ebx, 0x2222_2222);
                a.mov(edx, 0x4444_4444);
                a.mov(esi, 0x5555_5555);
                a.mov(edi, 0x6666_6666);
                a.mov(ebp, 0x7777_7777);
                a.std();
                a.syscall();
                a.dec(eax);
                RingGuest32.StoreRegisters(a, User);
                a.hlt();
            },
            a =>
            {
                EnableSyscall(a, sce: true);
                a.mov(ecx, 0xC000_0083); // CSTAR
                a.mov(eax, (uint)CstarHandler);
                a.xor(edx, edx);
                a.wrmsr();
            },
            compatibilityMode: true);
        (byte[] lstar, _) = TestVm.Assemble(64, SyscallHandler, a =>
        {
            a.mov(__qword_ptr[Kernel + 0x80], 0x4C);
            a.hlt();
            return [];
        });
        t.Vm.Memory.Write(SyscallHandler, lstar);
        (byte[] cstar, ulong[] labels) = TestVm.Assemble(64, CstarHandler, a =>
        {
            Label sysret = a.CreateLabel();
            a.pushfq(); // first: the XOR below changes the arithmetic flags
            a.pop(rax);
            a.mov(__qword_ptr[Kernel + 40], rax);
            a.mov(__qword_ptr[Kernel], rcx);
            a.mov(__qword_ptr[Kernel + 8], r11);
            a.mov(__qword_ptr[Kernel + 16], rsp);
            a.xor(eax, eax);
            a.mov(ax, cs);
            a.mov(__qword_ptr[Kernel + 24], rax);
            a.mov(ax, ss);
            a.mov(__qword_ptr[Kernel + 32], rax);
            a.mov(rax, cr3);
            a.mov(__qword_ptr[Kernel + 48], rax);
            a.mov(r8, 0x1234_5678_9ABC_DEF0UL);
            a.mov(__qword_ptr[Kernel + 56], r8);
            a.mov(eax, 0x1111_1111);
            a.Label(ref sysret);
            a.db(0x0F, 0x07); // SYSRET, operand size 32: to compatibility mode
            return [sysret];
        });
        t.Vm.Memory.Write(CstarHandler, cstar);
        var recorder = new Recorder();
        if (trapped)
        {
            t.Vm.ExitHandler = recorder;
            t.Vm.TrappedGuestEvents = GuestEventKinds.Syscall | GuestEventKinds.Sysret;
        }

        // Act: the VM must not stop with a fault (TestVm.Run asserts it).
        t.Run();

        // Assert: CSTAR's entry ran in 64-bit code at CPL 0 with CS and SS from STAR[47:32].
        ulong K(int offset) => Read(t.Vm.Memory, Kernel + (ulong)offset);
        Assert.That(Read(t.Vm.Memory, Kernel + 0x80), Is.Zero, "LSTAR's entry did not run");
        Assert.That(K(0), Is.EqualTo(SyscallAt + 2), "RCX: the instruction after SYSCALL");
        Assert.That(K(8), Is.EqualTo(UserFlagsWithDf), "R11: EFLAGS at SYSCALL");
        Assert.That(K(16), Is.EqualTo(UserStack), "RSP unchanged");
        Assert.That(K(24), Is.EqualTo(StarKernel), "CS = STAR[47:32]");
        Assert.That(K(32), Is.EqualTo(StarKernel + 8), "SS = STAR[47:32] + 8");
        Assert.That(K(40), Is.EqualTo(0x2), "RFLAGS: IF and DF masked by FMASK");
        Assert.That(K(48), Is.EqualTo(t.Core0.ReadRegister(GuestRegister.Cr3)), "MOV from CR3 ran: CPL 0");
        Assert.That(K(56), Is.EqualTo(0x1234_5678_9ABC_DEF0UL), "MOV R8, imm64 ran: 64-bit code");

        // Assert: SYSRET went back to compatibility mode, every register as the SDM says.
        uint[] expected = [0x1111_1110, 0x2222_2222, (uint)(SyscallAt + 2), 0x4444_4444, 0x5555_5555, 0x6666_6666, 0x7777_7777, (uint)UserStack, UserFlagsWithDf, UserCs32, UserSs32];
        RingGuest32.AssertRegisters(t, User, expected, "after SYSRET (EAX: DEC EAX ran, 32-bit code; EFLAGS = R11 AND 3C7FD7h OR 2)");

        // Assert: the HLT at CPL 3 in compatibility mode raised #GP(0), delivered to the 64-bit handler.
        Assert.That(Read(t.Vm.Memory, Results + 0xF00), Is.Zero, "#GP error code");
        Assert.That(Read(t.Vm.Memory, Results + 0xF08), Is.EqualTo(UserCs32), "#GP from compatibility mode's CS");
        Assert.That(t.Core0.Context.ReadSegment(GuestRegister.Cs).Flags & SegmentCache.Long, Is.EqualTo(SegmentCache.Long), "the #GP handler runs in 64-bit code");

        if (!trapped)
        {
            return;
        }

        // Assert: the events, with the hidden parts the SDM gives: flat 64-bit ring-0 code and flat ring-0 data after
        // SYSCALL; flat 32-bit ring-3 code and data after SYSRET.
        Seen[] seen = [.. recorder.Events];
        Assert.That(seen.Select(e => (e.Kind, e.Stage)), Is.EqualTo(new[]
        {
            (GuestEventKinds.Syscall, ExitStage.Pre), (GuestEventKinds.Syscall, ExitStage.Post),
            (GuestEventKinds.Sysret, ExitStage.Pre), (GuestEventKinds.Sysret, ExitStage.Post),
        }));
        Assert.That(seen[0].Context, Is.EqualTo(0x1111_1111), "!syscall's context: EAX");
        Assert.That(seen[0].RipNow, Is.EqualTo(SyscallAt), "pre stage at the SYSCALL");
        Assert.That(seen[1] with { Context = 0 }, Is.EqualTo(new Seen(GuestEventKinds.Syscall, ExitStage.Post, 0, CstarHandler,
            new SegmentCache(StarKernel, 0, uint.MaxValue, SegmentCache.FlatLongCode), new SegmentCache(StarKernel + 8, 0, uint.MaxValue, SegmentCache.FlatData), 0)));
        Assert.That(seen[2].RipNow, Is.EqualTo(labels[0]), "!sysret's pre stage at the SYSRET");
        Assert.That(seen[2].Context, Is.EqualTo(labels[0]), "!sysret's context: its RIP");
        Assert.That(seen[3] with { Context = 0 }, Is.EqualTo(new Seen(GuestEventKinds.Sysret, ExitStage.Post, 0, SyscallAt + 2,
            new SegmentCache(UserCs32, 0, uint.MaxValue, SegmentCache.FlatCode | (3u << 13)), new SegmentCache(UserSs32, 0, uint.MaxValue, SegmentCache.FlatData | (3u << 13)), 3)));
    }

    [Test]
    public void Sysenter_FromCompatibilityMode_RaisesUdAtTheInstruction_DeliveredTo64BitCode()
    {
        // Arrange: valid SYSENTER MSRs (CS 08h, ESP, EIP): only the mode makes SYSENTER invalid on AMD's CPUs.
        using TestVm t = Create(
            a =>
            {
                a.sysenter();
                a.hlt();
            },
            a =>
            {
                a.xor(edx, edx);
                a.mov(ecx, 0x174);
                a.mov(eax, (uint)StarKernel);
                a.wrmsr();
                a.mov(ecx, 0x175);
                a.mov(eax, (uint)Rsp0);
                a.wrmsr();
                a.mov(ecx, 0x176);
                a.mov(eax, (uint)SyscallHandler);
                a.wrmsr();
            },
            compatibilityMode: true);
        Handler(t, 6, 0x8E, dpl: 0, ist: 0, a =>
        {
            RecordFrame(a, Kernel, errorCode: false);
            a.hlt();
        });

        // Act
        t.Run();

        // Assert: #UD from compatibility mode's ring 3 with RIP at the SYSENTER, on RSP0, in the 64-bit handler.
        ulong K(int offset) => Read(t.Vm.Memory, Kernel + (ulong)offset);
        Assert.That(K(8), Is.EqualTo(UserCode), "RIP pushed: the SYSENTER");
        Assert.That(K(16), Is.EqualTo(UserCs32), "CS pushed: compatibility mode's");
        Assert.That(K(32), Is.EqualTo(UserStack), "RSP pushed");
        Assert.That(K(40), Is.EqualTo(UserSs32), "SS pushed");
        Assert.That(K(0), Is.EqualTo(Rsp0 - 40), "on RSP0");
        Assert.That(K(0x38), Is.EqualTo(KernelCs), "CS in the handler");
    }

    [TestCase(false, Description = "the engine's own SYSRET")]
    [TestCase(true, Description = "!sysret set: the VM performs it")]
    public void Sysret_ExecutedInCompatibilityModeAtCpl0_ReturnsToCompatibilityModeRing3_AsTheEngineDoes(bool trapped)
    {
        // Arrange: the 64-bit kernel sets R11 and far-jumps (FF /5, m16:32) to a 32-bit ring-0 code segment (GDT 40h),
        // which sets the user's registers and executes SYSRET (0F 07, no REX in 32-bit code): CS = STAR[63:48] OR 3,
        // SS = + 8 OR 3, EIP = ECX. On AMD's CPUs (and the engine) SYSRET is valid there; the result must not depend on
        // whether !sysret is set.
        const ulong compatKernel = SyscallHandler + 0x1000;
        const ulong farPointer = Results + 0x200;
        using TestVm t = Create(
            a =>
            {
                RingGuest32.StoreRegisters(a, User);
                a.hlt();
            },
            a =>
            {
                EnableSyscall(a, sce: true);
                a.mov(r11, 0x8D7); // CF PF AF ZF SF (arithmetic flags), DF clear, IF clear, bit 1
                a.db(0xFF, 0x2C, 0x25); // jmp far [farPointer]
                a.dd((uint)farPointer);
            },
            compatibilityMode: true);
        t.Vm.Memory.TryWrite(Gdt + 0x40, 0x00CF_9A00_0000_FFFFUL);
        t.Vm.Memory.TryWrite(Gdtr, (ushort)(0x48 - 1));
        t.Vm.Memory.TryWrite(farPointer, (uint)compatKernel);
        t.Vm.Memory.TryWrite(farPointer + 4, (ushort)0x40);
        (byte[] code, ulong[] labels) = TestVm.Assemble(32, compatKernel, a =>
        {
            Label sysret = a.CreateLabel();
            a.mov(eax, 0x1111_1111);
            a.mov(ebx, 0x2222_2222);
            a.mov(ecx, (uint)UserCode);
            a.mov(edx, 0x4444_4444);
            a.mov(esi, 0x5555_5555);
            a.mov(edi, 0x6666_6666);
            a.mov(ebp, 0x7777_7777);
            a.mov(esp, (uint)UserStack);
            a.Label(ref sysret);
            a.db(0x0F, 0x07);
            return [sysret];
        });
        t.Vm.Memory.Write(compatKernel, code);
        var recorder = new Recorder();
        if (trapped)
        {
            t.Vm.ExitHandler = recorder;
            t.Vm.TrappedGuestEvents = GuestEventKinds.Sysret;
        }

        // Act
        t.Run();

        // Assert: ring 3 in compatibility mode, every register as SYSRET leaves it (EFLAGS = R11 AND 3C7FD7h OR 2).
        uint[] expected = [0x1111_1111, 0x2222_2222, (uint)UserCode, 0x4444_4444, 0x5555_5555, 0x6666_6666, 0x7777_7777, (uint)UserStack, 0x8D7, UserCs32, UserSs32];
        RingGuest32.AssertRegisters(t, User, expected, "after SYSRET from compatibility mode");
        Assert.That(Read(t.Vm.Memory, Results + 0xF08), Is.EqualTo(UserCs32), "the final HLT faulted at CPL 3 in compatibility mode");
        if (trapped)
        {
            Seen[] seen = [.. recorder.Events];
            Assert.That(seen.Select(e => (e.Kind, e.Stage, e.RipNow)), Is.EqualTo(new[]
            {
                (GuestEventKinds.Sysret, ExitStage.Pre, labels[0]), (GuestEventKinds.Sysret, ExitStage.Post, UserCode),
            }));
            Assert.That(seen[1].Cs, Is.EqualTo(new SegmentCache(UserCs32, 0, uint.MaxValue, SegmentCache.FlatCode | (3u << 13))));
        }
    }
}
