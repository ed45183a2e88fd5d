// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Iced.Intel;
using static HyperDbgRemote.VmxDriver.Tests.Privilege.RingGuest32;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests.Privilege;

/// <summary>
/// SYSENTER performed by the driver and SYSEXIT by the engine (SDM Vol. 2B, "SYSENTER", "SYSEXIT") in 32-bit protected
/// mode with paging (<see cref="RingGuest32"/>): ring 3 -> SYSENTER -> ring 0 -> SYSEXIT -> ring 3, the #GP(0) of a
/// null IA32_SYSENTER_CS, and the #GP(0) of SYSENTER in real mode (SDM Vol. 2B, "SYSENTER": protected mode only).
/// SYSENTER from compatibility mode is in <see cref="CompatibilityModeSystemCallTests"/>.
/// </summary>
public sealed class SysenterTests
{
    private const ulong Entry = Handlers + 0x7000;
    private const ulong Kernel = Results;
    private const ulong User = Results + 0x100;
    private const ulong SysenterStack = 0x6_0000;

    /// <summary>Seven MOV r32, imm32 (5 bytes each): the SYSENTER's address.</summary>
    private const ulong SysenterAt = UserCode + (7 * 5);

    [Test]
    public void Sysenter_FromRing3_EntersRing0_AndSysexitReturnsToRing3()
    {
        // Arrange: SYSENTER_CS = 08h (so SS 10h; SYSEXIT's CS 1Bh, SS 23h), ESP and EIP; the user program sets every
        // register (ECX and EDX: SYSEXIT's ESP and EIP), SYSENTERs, then records its registers after the SYSEXIT.
        using TestVm t = Create(UserProgram, a => WriteSysenterMsrs(a, KernelCs));
        WriteEntry(t);

        // Act
        t.Run();

        // Assert: ring 0 on the MSRs' stack, flat segments from SYSENTER_CS, IF cleared.
        Assert.That(Read(t, Kernel), Is.EqualTo((uint)SysenterStack), "ESP = IA32_SYSENTER_ESP");
        Assert.That(Read(t, Kernel + 4), Is.EqualTo(KernelCs), "CS = SYSENTER_CS");
        Assert.That(Read(t, Kernel + 8), Is.EqualTo(KernelSs), "SS = SYSENTER_CS + 8");
        Assert.That(Read(t, Kernel + 12), Is.EqualTo(0x2u), "EFLAGS: IF cleared, nothing else");
        Assert.That(Read(t, Kernel + 16) & 0x8000_0001, Is.EqualTo(0x8000_0001), "MOV from CR0 ran: CPL 0");
        Assert.That(Read(t, Kernel + 20), Is.EqualTo(0x1111_1111), "EAX kept");
        Assert.That(Read(t, Kernel + 24), Is.EqualTo(0x5555_5555), "ESI kept");
        Assert.That(Read(t, Kernel + 28), Is.EqualTo(0xABCD), "a push and pop on the flat stack: SS base 0, 32-bit");

        // Assert: SYSEXIT back to ring 3 (CS = SYSENTER_CS + 16 OR 3, SS = + 24 OR 3, ESP = ECX, EIP = EDX).
        uint[] expected = [0x1111_1111, 0x2222_2222, (uint)UserStack, (uint)(SysenterAt + 2), 0x5555_5555, 0x6666_6666, 0x7777_7777, (uint)UserStack, 0x2, UserCs, UserSs];
        RingGuest32.AssertRegisters(t, User, expected, "after SYSEXIT");

        Assert.That(Read(t, GpFrame + 12), Is.EqualTo(UserCs), "the final HLT faulted at CPL 3");
    }

    [Test]
    public void Sysenter_NullSysenterCs_RaisesGpZeroAtTheInstruction()
    {
        // Arrange: SYSENTER_CS = 0.
        using TestVm t = Create(UserProgram, a => WriteSysenterMsrs(a, 0));
        WriteEntry(t);

        // Act
        t.Run();

        // Assert: #GP(0) from ring 3 with EIP at the SYSENTER; the entry never ran.
        Assert.That(Read(t, GpFrame + 4), Is.Zero, "#GP error code");
        Assert.That(Read(t, GpFrame + 8), Is.EqualTo((uint)SysenterAt), "EIP pushed: the SYSENTER");
        Assert.That(Read(t, GpFrame + 12), Is.EqualTo(UserCs));
        Assert.That(Read(t, Kernel + 4), Is.Zero, "the entry did not run");
    }

    [Test]
    public void Sysenter_InRealMode_RaisesGpThroughTheIvt()
    {
        // Arrange: valid SYSENTER MSRs (CS 08h), IVT[13] -> 0000:handler; the handler records IP, CS and FLAGS of its
        // frame and SP (real mode pushes no error code), then halts.
        using TestVm t = TestVm.Create16(a =>
        {
            Label handler = a.CreateLabel();
            Label main = a.CreateLabel();
            a.jmp(main);
            a.Label(ref handler);
            a.mov(bp, sp);
            a.mov(ax, __word_ptr[bp]);
            a.mov(__word_ptr[0x6000], ax);
            a.mov(ax, __word_ptr[bp + 2]);
            a.mov(__word_ptr[0x6002], ax);
            a.mov(ax, __word_ptr[bp + 4]);
            a.mov(__word_ptr[0x6004], ax);
            a.mov(__word_ptr[0x6006], sp);
            a.hlt();
            a.Label(ref main);
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(ss, ax);
            a.mov(sp, 0x7000);
            a.mov(__word_ptr[13 * 4], 0x7C02);
            a.mov(__word_ptr[(13 * 4) + 2], 0);
            a.mov(ecx, 0x174);
            a.mov(eax, (uint)KernelCs);
            a.xor(edx, edx);
            a.wrmsr();
            a.mov(ecx, 0x176);
            a.mov(eax, (uint)Entry);
            a.wrmsr();
            a.sysenter();
            a.hlt();
        });

        // Act
        t.Run();

        // Assert: #GP at the SYSENTER (IP pushed: the instruction, 0F 34), from CS 0, three words on the stack.
        ushort Word(ulong address) => t.Vm.Memory.TryRead(address, out ushort value) ? value : throw new InvalidOperationException($"0x{address:X} is not in RAM");
        ushort ip = Word(0x6000);
        Assert.That(Word(ip), Is.EqualTo(0x340F), "IP pushed: the SYSENTER (0F 34)");
        Assert.That(ip, Is.GreaterThan(0x7C02), "in the main program");
        Assert.That(Word(0x6002), Is.Zero, "CS pushed");
        Assert.That(Word(0x6006), Is.EqualTo(0x7000 - 6), "SP: IP, CS and FLAGS pushed, no error code in real mode");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Cs), Is.Zero, "still in real mode: the MSRs were not used");
    }

    private static void UserProgram(Assembler a)
    {
        Label back = a.CreateLabel();
        a.mov(eax, 0x1111_1111);
        a.mov(ebx, 0x2222_2222);
        a.mov(ecx, (uint)UserStack);
        a.mov(edx, (uint)(SysenterAt + 2));
        a.mov(esi, 0x5555_5555);
        a.mov(edi, 0x6666_6666);
        a.mov(ebp, 0x7777_7777);
        a.sysenter();
        a.Label(ref back);
        RingGuest32.StoreRegisters(a, User);
        a.hlt();
    }

    private static void WriteSysenterMsrs(Assembler a, ushort cs)
    {
        a.xor(edx, edx);
        a.mov(ecx, 0x174);
        a.mov(eax, (uint)cs);
        a.wrmsr();
        a.mov(ecx, 0x175);
        a.mov(eax, (uint)SysenterStack);
        a.wrmsr();
        a.mov(ecx, 0x176);
        a.mov(eax, (uint)Entry);
        a.wrmsr();
    }

    /// <summary>The ring-0 entry: records ESP, CS, SS, EFLAGS, CR0, EAX, ESI and a value pushed and popped, then SYSEXITs
    /// (ECX and EDX are the user's).</summary>
    private static void WriteEntry(TestVm t)
    {
        (byte[] code, _) = TestVm.Assemble(32, Entry, a =>
        {
            a.mov(__dword_ptr[(uint)Kernel], esp);
            a.pushfd();
            a.pop(__dword_ptr[(uint)Kernel + 12]);
            a.mov(__dword_ptr[(uint)Kernel + 20], eax);
            a.mov(__dword_ptr[(uint)Kernel + 24], esi);
            a.mov(eax, 0);
            a.mov(ax, cs);
            a.mov(__dword_ptr[(uint)Kernel + 4], eax);
            a.mov(ax, ss);
            a.mov(__dword_ptr[(uint)Kernel + 8], eax);
            a.mov(eax, cr0);
            a.mov(__dword_ptr[(uint)Kernel + 16], eax);
            a.push(0xABCD);
            a.pop(eax);
            a.mov(eax, __dword_ptr[(uint)SysenterStack - 4]);
            a.mov(__dword_ptr[(uint)Kernel + 28], eax);
            a.mov(eax, 0x1111_1111);
            a.sysexit();
            return [];
        });
        t.Vm.Memory.Write(Entry, code);
    }
}
