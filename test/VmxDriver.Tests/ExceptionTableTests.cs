// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// Exceptions and software interrupts delivered through the guest's IDT, one case per row, in long mode (16-byte gates,
/// 64-bit frames) and in 32-bit protected mode (8-byte gates, 32-bit frames): the vector taken, the error code pushed
/// or not, and the RIP pushed (at the faulting instruction for faults, after it for traps and INT n). Every handler
/// records its vector, so a wrong vector shows as itself.
/// </summary>
public sealed class ExceptionTableTests
{
    private const ulong Idt = TestVm.DataAddress;
    private const ulong Idtr = TestVm.DataAddress + 0x1000;
    private const ulong Handlers = TestVm.DataAddress + 0x2000;
    private const ulong Results = TestVm.DataAddress + 0x3000;
    private const ulong Expected = TestVm.DataAddress + 0x3100;
    private const ulong NoVector = ulong.MaxValue;

    private static readonly int[] s_vectors = [0, 1, 3, 6, 7, 8, 12, 13, 14, 16, 17, 19];

    [TestCase("div0", 0, false, true, Description = "#DE: DIV by 0, a fault")]
    [TestCase("int3", 3, false, false, Description = "#BP: INT3, a trap")]
    [TestCase("tf", 1, false, false, Description = "#DB: single step with RFLAGS.TF, a trap after the next instruction")]
    [TestCase("nm", 7, false, true, Description = "#NM: an x87 instruction with CR0.TS")]
    [TestCase("mf", 16, false, true, Description = "#MF: FWAIT with an unmasked x87 exception pending and CR0.NE")]
    [TestCase("int0d", 13, false, false, Description = "INT 0Dh: software, no error code although #GP has one")]
    [TestCase("int0e", 14, false, false, Description = "INT 0Eh: software, no error code although #PF has one")]
    [TestCase("int08", 8, false, false, Description = "INT 08h: software, no error code although #DF has one")]
    public void LongMode_Exception_DeliveredWithItsFrame(string cause, int vector, bool hasErrorCode, bool fault)
    {
        // Arrange: the guest stores the address of the faulting instruction (or of the one after it) at Expected, then
        // raises the event; every handler records vector, error code (0 when none is pushed), RIP and CS.
        using TestVm t = TestVm.Create64(a =>
        {
            Label at = a.CreateLabel();
            Label after = a.CreateLabel();
            a.lidt(__[Idtr]);
            a.lea(rax, __[fault ? at : after]);
            a.mov(__qword_ptr[Expected], rax);
            Prepare64(a, cause);
            a.Label(ref at);
            Raise64(a, cause);
            a.Label(ref after);
            a.nop();
            a.hlt();
        });
        foreach (int v in s_vectors)
        {
            WriteHandler64(t, v, hasErrorCode: v == vector && hasErrorCode);
        }

        t.Vm.Memory.TryWrite(Results, NoVector);

        // Act
        t.Run();

        // Assert
        Assert.That(Read(t, Results), Is.EqualTo((ulong)vector), "vector");
        Assert.That(Read(t, Results + 8), Is.Zero, "error code");
        Assert.That(Read(t, Results + 16), Is.EqualTo(Read(t, Expected)), "RIP pushed");
        Assert.That(Read(t, Results + 24), Is.EqualTo(8), "CS pushed (a wrong frame layout shows here)");
    }

    [TestCase("div0", 0, new byte[] { 0xF7, 0xF1 }, Description = "#DE: EIP at DIV ECX")]
    [TestCase("int3", 3, new byte[] { 0x90 }, Description = "#BP: EIP after INT3")]
    [TestCase("int0d", 13, new byte[] { 0x90 }, Description = "INT 0Dh: EIP after it, no error code")]
    [TestCase("ud2", 6, new byte[] { 0x0F, 0x0B }, Description = "#UD from the engine's invalid-instruction stop: EIP at UD2")]
    public void ProtectedMode32_Exception_DeliveredThroughAnEightByteGate(string cause, int vector, byte[] atEip)
    {
        // Arrange: real mode switches to 32-bit protected mode (flat code 08h, data 10h); IDT of 8-byte gates. The
        // instruction after the event is a NOP, so the bytes at the pushed EIP tell a fault from a trap.
        using TestVm t = CreateProtectedMode32(a =>
        {
            a.xor(ecx, ecx);
            switch (cause)
            {
                case "div0":
                    a.div(ecx);
                    break;
                case "int3":
                    a.int3();
                    break;
                case "ud2":
                    a.ud2();
                    break;
                default:
                    a.@int(0x0D);
                    break;
            }

            a.nop();
            a.hlt();
        });

        t.Run();

        Assert.That(Read(t, Results) & uint.MaxValue, Is.EqualTo((ulong)vector), "vector");
        Assert.That(Read(t, Results + 8) & uint.MaxValue, Is.Zero, "error code");
        ulong eip = Read(t, Results + 16) & uint.MaxValue;
        byte[] bytes = new byte[atEip.Length];
        Assert.That(t.Vm.Memory.Read(eip, bytes), Is.EqualTo(bytes.Length));
        Assert.That(bytes, Is.EqualTo(atEip), $"the bytes at the pushed EIP 0x{eip:X}");
        Assert.That(Read(t, Results + 24) & uint.MaxValue, Is.EqualTo(8), "CS pushed");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rsp), Is.EqualTo(0x7000 - 12), "three doublewords pushed");
    }

    [Test]
    public void ProtectedMode32_GateBeyondTheLimit_RaisesGpWithTheIdtErrorCode()
    {
        // INT 40h with an IDT of 32 gates: #GP with error code 40h × 8 + 2, EXT clear, through its 8-byte gate.
        using TestVm t = CreateProtectedMode32(a =>
        {
            a.@int(0x40);
            a.hlt();
        }, idtLimit: (32 * 8) - 1, errorCodeVector: 13);

        t.Run();

        Assert.That(Read(t, Results) & uint.MaxValue, Is.EqualTo(13), "vector");
        Assert.That(Read(t, Results + 8) & uint.MaxValue, Is.EqualTo((0x40 * 8) + 2), "error code");
    }

    [TestCase("xm", Description = "CR4.OSXMMEXCPT set: the SDM raises #XM (vector 19)")]
    [TestCase("xm-ud", Description = "CR4.OSXMMEXCPT clear: the SDM raises #UD")]
    public void EngineFact_UnmaskedSimdException_RaisesNothing_TheInstructionCompletesAsIfMasked(string cause)
    {
        // Arrange: DIVSS 1.0 / 0.0 with MXCSR.ZM clear (divide by zero unmasked); every handler records its vector.
        using TestVm t = TestVm.Create64(a =>
        {
            a.lidt(__[Idtr]);
            Prepare64(a, cause);
            a.divss(xmm0, xmm1);
            a.stmxcsr(__dword_ptr[Expected + 16]);
            a.movd(__dword_ptr[Expected + 24], xmm0);
            a.hlt();
        });
        foreach (int v in s_vectors)
        {
            WriteHandler64(t, v, hasErrorCode: false);
        }

        t.Vm.Memory.TryWrite(Results, NoVector);

        // Act
        t.Run();

        // Assert: Unicorn 2.1.1 (QEMU 5's softfloat) raises neither #XM nor #UD: the instruction completes with the
        // masked response (+infinity), and STMXCSR does not even show the ZE flag (bit 2).
        Assert.That(Read(t, Results), Is.EqualTo(NoVector), "no exception was raised");
        Assert.That(Read(t, Expected + 24) & 0xFFFF_FFFF, Is.EqualTo(0x7F80_0000UL), "XMM0 = +infinity");
        Assert.That(Read(t, Expected + 16) & 0xFFFF, Is.EqualTo(0x1D80UL), "MXCSR as loaded: ZM clear, no flag");
    }

    private static void Prepare64(Assembler a, string cause)
    {
        switch (cause)
        {
            case "tf":
                a.pushfq();
                a.or(__qword_ptr[rsp], 0x100);
                a.popfq();
                break;
            case "nm":
                a.mov(rax, cr0);
                a.or(rax, 8); // TS
                a.mov(cr0, rax);
                break;
            case "mf":
                a.mov(rax, cr0);
                a.or(rax, 0x20); // NE
                a.and(rax, -13); // TS and EM clear
                a.mov(cr0, rax);
                a.fninit();
                a.mov(__word_ptr[Expected + 8], 0x37B); // the default control word with ZE unmasked
                a.fldcw(__word_ptr[Expected + 8]);
                a.fld1();
                a.fldz();
                a.fdivp(st1, st0); // 1 / 0: ZE pending
                break;
            case "div0":
                a.xor(ecx, ecx);
                break;
            case "xm" or "xm-ud":
                a.mov(rax, cr4);
                a.or(rax, 0x200); // OSFXSR
                a.and(rax, ~0x400); // OSXMMEXCPT clear
                if (cause == "xm")
                {
                    a.or(rax, 0x400);
                }

                a.mov(cr4, rax);
                a.mov(__dword_ptr[Expected + 8], 0x1D80); // the default MXCSR with ZM (divide by zero) unmasked
                a.ldmxcsr(__dword_ptr[Expected + 8]);
                a.mov(eax, 0x3F80_0000); // 1.0f
                a.movd(xmm0, eax);
                a.xorps(xmm1, xmm1);
                break;
        }
    }

    private static void Raise64(Assembler a, string cause)
    {
        switch (cause)
        {
            case "div0":
                a.div(ecx);
                break;
            case "int3":
                a.int3();
                break;
            case "tf":
                a.nop(); // the trap comes after this instruction
                break;
            case "nm":
                a.fninit();
                break;
            case "mf":
                a.wait();
                break;
            case "int0d":
                a.@int(0x0D);
                break;
            case "int0e":
                a.@int(0x0E);
                break;
            default:
                a.@int(0x08);
                break;
        }
    }

    /// <summary>A 64-bit handler that stores its vector, the error code (0 when none), RIP and CS, then halts.</summary>
    private static void WriteHandler64(TestVm t, int vector, bool hasErrorCode)
    {
        ulong at = Handlers + ((ulong)vector * 0x80);
        (byte[] code, _) = TestVm.Assemble(64, at, a =>
        {
            int frame = hasErrorCode ? 8 : 0;
            a.mov(__qword_ptr[Results], vector);
            if (hasErrorCode)
            {
                a.mov(rax, __qword_ptr[rsp]);
            }
            else
            {
                a.xor(eax, eax);
            }

            a.mov(__qword_ptr[Results + 8], rax);
            a.mov(rax, __qword_ptr[rsp + frame]);
            a.mov(__qword_ptr[Results + 16], rax);
            a.mov(rax, __qword_ptr[rsp + frame + 8]);
            a.mov(__qword_ptr[Results + 24], rax);
            a.hlt();
            return [];
        });
        t.Vm.Memory.Write(at, code);
        InterruptTests.WriteIdtGate(t, Idt, Idtr, vector, at);
    }

    /// <summary>A real-mode boot stub that enters 32-bit protected mode at <c>Pm32</c>, where <paramref name="program"/>
    /// runs with flat segments, a stack at 0x7000 and an IDT of 8-byte interrupt gates for the tested vectors.</summary>
    private static TestVm CreateProtectedMode32(Action<Assembler> program, uint idtLimit = (256 * 8) - 1, int errorCodeVector = -1)
    {
        const ulong gdt = 0x9000, gdtr = 0x9100, pm32 = 0x8000;
        TestVm t = TestVm.Create16(a =>
        {
            a.cli();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.lgdt(__[(uint)gdtr]);
            a.mov(eax, cr0);
            a.or(eax, 1);
            a.mov(cr0, eax);
            a.db(0x66, 0xEA); // jmp far dword 08h:Pm32
            a.dd((uint)pm32);
            a.dw(0x08);
        });
        (byte[] code, _) = TestVm.Assemble(32, pm32, a =>
        {
            a.mov(ax, 0x10);
            a.mov(ds, ax);
            a.mov(es, ax);
            a.mov(ss, ax);
            a.mov(esp, 0x7000);
            a.lidt(__[(uint)Idtr]);
            program(a);
            return [];
        });
        t.Vm.Memory.Write(pm32, code);
        t.Vm.Memory.Write(gdt, [.. BitConverter.GetBytes(0UL), .. BitConverter.GetBytes(0x00CF_9A00_0000_FFFFUL), .. BitConverter.GetBytes(0x00CF_9200_0000_FFFFUL)]);
        t.Vm.Memory.TryWrite(gdtr, (ushort)23);
        t.Vm.Memory.TryWrite(gdtr + 2, (uint)gdt);
        t.Vm.Memory.TryWrite(Idtr, (ushort)idtLimit);
        t.Vm.Memory.TryWrite(Idtr + 2, (uint)Idt);
        t.Vm.Memory.TryWrite(Results, NoVector);
        foreach (int v in s_vectors)
        {
            ulong at = Handlers + ((ulong)v * 0x80);
            bool hasErrorCode = v == errorCodeVector;
            (byte[] handler, _) = TestVm.Assemble(32, at, a =>
            {
                int frame = hasErrorCode ? 4 : 0;
                a.mov(__dword_ptr[(uint)Results], v);
                if (hasErrorCode)
                {
                    a.mov(eax, __dword_ptr[esp]);
                }
                else
                {
                    a.xor(eax, eax);
                }

                a.mov(__dword_ptr[(uint)Results + 8], eax);
                a.mov(eax, __dword_ptr[esp + frame]);
                a.mov(__dword_ptr[(uint)Results + 16], eax);
                a.mov(eax, __dword_ptr[esp + frame + 4]);
                a.mov(__dword_ptr[(uint)Results + 24], eax);
                a.hlt();
                return [];
            });
            t.Vm.Memory.Write(at, handler);
            byte[] gate = new byte[8];
            BitConverter.TryWriteBytes(gate, (ushort)at);
            BitConverter.TryWriteBytes(gate.AsSpan(2), (ushort)0x08);
            gate[5] = 0x8E;
            BitConverter.TryWriteBytes(gate.AsSpan(6), (ushort)(at >> 16));
            t.Vm.Memory.Write(Idt + ((ulong)v * 8), gate);
        }

        return t;
    }

    private static ulong Read(TestVm t, ulong address)
    {
        Assert.That(t.Vm.Memory.TryRead(address, out ulong value), Is.True, $"0x{address:X} is in RAM");
        return value;
    }
}
