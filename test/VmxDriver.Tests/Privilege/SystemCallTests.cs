// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Iced.Intel;
using static HyperDbgRemote.VmxDriver.Tests.Privilege.RingGuest;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests.Privilege;

/// <summary>
/// A system call as Linux's <c>entry_SYSCALL_64</c> makes it, on the real engine: SYSCALL from ring 3 (performed by
/// the driver: RCX, R11, CS/SS from STAR, RIP from LSTAR, RFLAGS masked by FMASK, CPL 0), SWAPGS to the kernel's GS
/// base and back, the user stack saved through GS, and SYSRETQ to ring 3 (the engine's own: CS = STAR[63:48] + 16,
/// SS = STAR[63:48] + 8, RPL 3). The user program then runs what libc does in user mode: RDTSC (CR4.TSD clear) and
/// FXSAVE/FXRSTOR.
/// </summary>
public sealed class SystemCallTests
{
    private const uint Efer = 0xC000_0080, Star = 0xC000_0081, Lstar = 0xC000_0082, Fmask = 0xC000_0084, KernelGsBase = 0xC000_0102;
    private const ulong Entry = Handlers + 0x8000;
    private const ulong PerCpu = Results + 0x800; // the kernel's GS base: [0] the user's RSP, [8] the call number
    private const ulong Kernel = Results;          // what the entry saw
    private const ulong User = Results + 0x100;    // what the user saw after SYSRETQ
    private const ulong FxArea = Results + 0x400;  // 512 bytes, 16-aligned

    [Test]
    public void Syscall_LinuxStyleEntry_SwapgsSysretq_ReturnsToRing3_ThenRdtscAndFxsaveRunInRing3()
    {
        // Arrange
        using TestVm t = Create(
            user: a =>
            {
                a.mov(eax, 0x3C);
                a.syscall();
                a.mov(__qword_ptr[User + 0x20], rax);
                a.mov(__qword_ptr[User + 0x28], rcx);
                a.mov(__qword_ptr[User + 0x30], r11);
                a.rdtsc();
                a.mov(__dword_ptr[User + 0x38], eax);
                a.mov(__dword_ptr[User + 0x3C], edx);
                a.mov(eax, 0x1234_5678);
                a.movd(xmm1, eax);
                a.fxsave(__[FxArea]);
                a.pxor(xmm1, xmm1);
                a.fxrstor(__[FxArea]);
                a.movd(eax, xmm1);
                a.mov(__qword_ptr[User + 0x40], rax);
                RecordUserAndEnd(a, User);
            },
            kernelSetup: a =>
            {
                a.mov(ecx, Efer);
                a.rdmsr();
                a.or(eax, 1); // SCE
                a.wrmsr();
                WriteMsr(a, Star, (0x18UL << 48) | (0x08UL << 32));
                WriteMsr(a, Lstar, Entry);
                WriteMsr(a, Fmask, 0x4_0700); // AC, DF, IF, TF
                WriteMsr(a, KernelGsBase, PerCpu);
                a.mov(rax, cr4);
                a.or(rax, 0x600); // OSFXSR, OSXMMEXCPT
                a.mov(cr4, rax);
            });
        (byte[] entry, _) = TestVm.Assemble(64, Entry, a =>
        {
            a.swapgs();
            a.mov(__qword_ptr.gs[0], rsp);
            a.mov(rsp, Rsp0);
            a.mov(__qword_ptr.gs[8], rax);
            a.mov(rax, cr3); // privileged: faults unless CPL is 0
            a.mov(__qword_ptr[Kernel], rax);
            a.mov(__qword_ptr[Kernel + 8], rcx);
            a.mov(__qword_ptr[Kernel + 0x10], r11);
            a.xor(eax, eax);
            a.mov(ax, cs);
            a.mov(__qword_ptr[Kernel + 0x18], rax);
            a.mov(ax, ss);
            a.mov(__qword_ptr[Kernel + 0x20], rax);
            a.pushfq();
            a.pop(rax);
            a.mov(__qword_ptr[Kernel + 0x28], rax);
            a.mov(rsp, __qword_ptr.gs[0]);
            a.swapgs();
            a.mov(eax, 0x77); // the return value
            a.sysretq();
            return [];
        });
        t.Vm.Memory.Write(Entry, entry);

        // Act
        t.Run();

        // Assert: in the kernel, at CPL 0 on the kernel's GS.
        ulong K(int offset) => Read(t.Vm.Memory, Kernel + (ulong)offset);
        ulong U(int offset) => Read(t.Vm.Memory, User + (ulong)offset);
        Assert.That(K(0), Is.EqualTo(t.Core0.ReadRegister(GuestRegister.Cr3)), "CR3 read at CPL 0");
        Assert.That(K(8), Is.EqualTo(UserCode + 7), "RCX: the instruction after SYSCALL (mov eax, imm32: 5 bytes; syscall: 2)");
        Assert.That(K(0x10), Is.EqualTo(UserFlags), "R11: the user's RFLAGS");
        Assert.That(K(0x18), Is.EqualTo(0x08), "CS = STAR[47:32]");
        Assert.That(K(0x20), Is.EqualTo(0x10), "SS = STAR[47:32] + 8");
        Assert.That(K(0x28) & 0x4_0700, Is.Zero, "RFLAGS masked by FMASK");
        Assert.That(Read(t.Vm.Memory, PerCpu), Is.EqualTo(UserStack), "the user's RSP saved through the kernel's GS base (SWAPGS)");
        Assert.That(Read(t.Vm.Memory, PerCpu + 8), Is.EqualTo(0x3C), "the call number");

        // Back in ring 3 after SYSRETQ, then RDTSC and FXSAVE/FXRSTOR at CPL 3.
        Assert.That(U(0), Is.EqualTo(UserCs), "CS = STAR[63:48] + 16, RPL 3");
        Assert.That(U(8), Is.EqualTo(UserSs), "SS = STAR[63:48] + 8, RPL 3");
        Assert.That(U(16), Is.EqualTo(UserStack), "the user's stack");
        Assert.That(U(0x20), Is.EqualTo(0x77), "the return value");
        Assert.That(U(0x28), Is.EqualTo(UserCode + 7), "RCX after SYSRETQ");
        Assert.That(U(0x38), Is.Not.Zero, "RDTSC ran at CPL 3");
        Assert.That(U(0x40), Is.EqualTo(0x1234_5678), "FXRSTOR restored XMM1 from FXSAVE's area");
        Assert.That(Read(t.Vm.Memory, Results + 0xF08), Is.EqualTo(UserCs), "the final HLT faulted at CPL 3");
    }

    private static void WriteMsr(Assembler a, uint msr, ulong value)
    {
        a.mov(ecx, msr);
        a.mov(eax, (uint)value);
        a.mov(edx, (uint)(value >> 32));
        a.wrmsr();
    }
}
