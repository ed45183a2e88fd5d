// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;
using Iced.Intel;
using static HyperDbgRemote.VmxDriver.Tests.Privilege.RingGuest;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests.Privilege;

/// <summary>
/// SYSCALL performed by the model as the SDM says (Vol. 2B, "SYSCALL"), SYSRETQ by the engine, from ring 3 and back,
/// register by register; SYSCALL without EFER.SCE and SYSENTER raise #UD.
/// </summary>
public sealed class FastSystemCallTests
{
    private const ulong Kernel = Results;
    private const ulong User = Results + 0x100;

    [Test]
    public void Syscall_FromRing3_EntersLstarAtCpl0_SysretqReturns()
    {
        // Arrange: user: STD (RFLAGS 602h), SYSCALL; the handler records and SYSRETQs; the user records and ends.
        using TestVm t = Create(
            a =>
            {
                a.std();
                a.syscall();
                a.cld();
                RecordUserAndEnd(a, User);
            },
            a => EnableSyscall(a, sce: true));
        WriteSyscallHandler(t);

        // Act
        t.Run();

        // Assert: in the kernel.
        ulong K(int slot) => Read(t.Vm.Memory, Kernel + (ulong)(slot * 8));
        Assert.That(K(0), Is.EqualTo(UserCode + 3), "RCX: the instruction after SYSCALL");
        Assert.That(K(1), Is.EqualTo(UserFlags | 0x400), "R11: RFLAGS at SYSCALL (IF and DF set)");
        Assert.That(K(2), Is.EqualTo(UserStack), "RSP: unchanged (SYSCALL switches no stack)");
        Assert.That(K(3), Is.EqualTo(StarKernel), "CS: STAR[47:32]");
        Assert.That(K(4), Is.EqualTo(StarKernel + 8), "SS: STAR[47:32] + 8");
        Assert.That(K(5), Is.EqualTo(0x2), "RFLAGS: IF and DF masked by FMASK");
        Assert.That(K(6), Is.EqualTo(t.Core0.ReadRegister(GuestRegister.Cr3)), "CR3 read: CPL 0");

        // Back in ring 3 (the engine's SYSRETQ): CS = STAR[63:48] + 16 | 3, SS = STAR[63:48] + 8 | 3, RFLAGS = R11.
        ulong U(int slot) => Read(t.Vm.Memory, User + (ulong)(slot * 8));
        Assert.That(U(0), Is.EqualTo(UserCs));
        Assert.That(U(1), Is.EqualTo(UserSs));
        Assert.That(U(2), Is.EqualTo(UserStack));
        Assert.That(U(3), Is.EqualTo(UserFlags), "RFLAGS from R11 (DF cleared by CLD after)");
        Assert.That(Read(t.Vm.Memory, Results + 0xF08), Is.EqualTo(UserCs), "the final HLT faulted at CPL 3");
    }

    [Test]
    public void Syscall_From64BitRing3_LoadsCsAndSsWhole_FlatRing0Segments()
    {
        // Arrange: !syscall set; its post stage (at LSTAR's entry) reads the hidden parts of CS and SS. After SYSRETQ the
        // user's HLT faults at CPL 3 (the end).
        using TestVm t = Create(
            a =>
            {
                a.syscall();
                a.hlt();
            },
            a => EnableSyscall(a, sce: true));
        WriteSyscallHandler(t);
        var seen = new List<(SegmentCache Cs, SegmentCache Ss, int Cpl)>();
        t.Vm.ExitHandler = new EventAction(e =>
        {
            if (e.Stage == ExitStage.Pre)
            {
                e.PostStageRequested = true;
                return;
            }

            seen.Add((e.Core.Context.ReadSegment(GuestRegister.Cs), e.Core.Context.ReadSegment(GuestRegister.Ss), e.Core.Context.ReadPrivilegeLevel()));
        });
        t.Vm.TrappedGuestEvents = GuestEventKinds.Syscall;

        // Act
        t.Run();

        // Assert: CS a flat 64-bit DPL-0 code segment, SS a flat DPL-0 data segment (SDM Vol. 2B, "SYSCALL"), not the
        // user's segments with new selectors.
        Assert.That(seen, Is.EqualTo(new[]
        {
            (new SegmentCache(StarKernel, 0, uint.MaxValue, SegmentCache.FlatLongCode), new SegmentCache(StarKernel + 8, 0, uint.MaxValue, SegmentCache.FlatData), 0),
        }));
    }

    [Test]
    public void Syscall_WithEferSceClear_RaisesUdAtTheInstruction()
    {
        using TestVm t = Create(a => a.syscall(), a => EnableSyscall(a, sce: false));
        WriteSyscallHandler(t);
        Handler(t, 6, 0x8E, dpl: 0, ist: 0, a =>
        {
            RecordFrame(a, Kernel, errorCode: false);
            a.hlt();
        });

        t.Run();

        Assert.That(Read(t.Vm.Memory, Kernel + 8), Is.EqualTo(UserCode), "RIP pushed: the SYSCALL");
        Assert.That(Read(t.Vm.Memory, Kernel + 16), Is.EqualTo(UserCs), "from ring 3");
        Assert.That(Read(t.Vm.Memory, Kernel), Is.EqualTo(Rsp0 - 40), "on RSP0");
    }

    [Test]
    public void Sysenter_In64BitMode_RaisesUdAtTheInstruction()
    {
        // The engine's CPU model is AMD's: SYSENTER in 64-bit mode is invalid (it raises #UD itself).
        using TestVm t = Create(a => a.sysenter());
        Handler(t, 6, 0x8E, dpl: 0, ist: 0, a =>
        {
            RecordFrame(a, Kernel, errorCode: false);
            a.hlt();
        });

        t.Run();

        Assert.That(Read(t.Vm.Memory, Kernel + 8), Is.EqualTo(UserCode), "RIP pushed: the SYSENTER");
        Assert.That(Read(t.Vm.Memory, Kernel + 16), Is.EqualTo(UserCs), "from ring 3");
    }

    private sealed class EventAction(Action<GuestEventExit> action) : IVmExitHandler
    {
        public void OnIoExit(IoExit ioExit)
        {
        }

        public void OnGuestEvent(GuestEventExit guestEvent) => action(guestEvent);
    }

    private static void WriteSyscallHandler(TestVm t)
    {
        (byte[] code, _) = TestVm.Assemble(64, SyscallHandler, a =>
        {
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
            a.sysretq();
            return [];
        });
        t.Vm.Memory.Write(SyscallHandler, code);
    }
}
