// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Guests;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests.Privilege;

/// <summary>
/// A 64-bit test guest with rings: its own GDT (kernel code 08h, kernel data 10h, a 32-bit user code 18h that SYSRET's
/// STAR base names, user data 20h, user 64-bit code 28h, a TSS at 30h), a TSS with RSP0 and IST1, an IDT, user-accessible
/// identity paging, and a ring-0 #GP handler that halts (the user program ends with HLT, which faults at CPL 3). The main
/// program loads all of it, masks every IRQ at both 8259s and IRETQs to the user program at CPL 3 (IF set).
/// </summary>
/// <remarks>
/// The mask matters: the PIT counts from reset and the 8259s are never initialised here, so IRQ 0 arrives as vector 0,
/// which this IDT has no gate for (as on QEMU). Unmasked, a ring-3 program that ran past the PIT's first period (55 ms
/// of guest time from the machine's creation) triple-faults as soon as the core looks at INTR with IF set: at once
/// after a debugger halt (a breakpoint's restart passes a block boundary), otherwise only at the next poll.
/// </remarks>
internal static class RingGuest
{
    public const ulong Idt = 0x20000;
    public const ulong Idtr = 0x21000;
    public const ulong Gdtr = 0x21010;
    public const ulong Handlers = 0x22000;
    public const ulong Gdt = 0x24000;
    public const ulong Tss = 0x25000;
    public const ulong Results = 0x26000;
    public const ulong UserCode = 0x30000;
    public const ulong UserStack = 0x40000;
    public const ulong Rsp0 = 0x50000;
    public const ulong Ist1 = 0x60000;
    public const ushort KernelCs = 0x08, KernelSs = 0x10, UserCs = 0x2B, UserSs = 0x23, TssSelector = 0x30;
    public const ulong UserFlags = 0x202;
    public const uint TssLimit = 0x67;

    /// <summary>LSTAR of <see cref="EnableSyscall"/>: where a test writes its SYSCALL handler.</summary>
    public const ulong SyscallHandler = 0x2C000;

    /// <summary>STAR[47:32] and STAR[63:48] of <see cref="EnableSyscall"/>.</summary>
    public const ushort StarKernel = KernelCs, StarUser = 0x18;

    /// <summary>FMASK of <see cref="EnableSyscall"/>: IF and DF.</summary>
    public const uint Fmask = 0x600;

    private const ulong UserBit = 4;

    /// <summary>The 32-bit user code segment (GDT 18h, RPL 3) a compatibility-mode user program runs in.</summary>
    public const ushort UserCs32 = 0x1B;

    /// <summary>Builds the VM: <paramref name="user"/> is the ring-3 program (64-bit, or 32-bit in compatibility mode with
    /// CS <see cref="UserCs32"/> when <paramref name="compatibilityMode"/>), <paramref name="kernelSetup"/> runs at ring 0
    /// before the IRETQ (MSRs, for one).</summary>
    public static TestVm Create(Action<Assembler> user, Action<Assembler>? kernelSetup = null, uint tssLimit = TssLimit, ulong rsp0 = Rsp0, bool compatibilityMode = false)
    {
        TestVm t = TestVm.Create64(a =>
        {
            a.lgdt(__[Gdtr]);
            a.lidt(__[Idtr]);
            a.mov(ax, TssSelector);
            a.ltr(ax);
            a.mov(ax, KernelSs);
            a.mov(ss, ax);
            a.mov(al, 0xFF);
            a.@out(0x21, al);
            a.@out(0xA1, al);
            kernelSetup?.Invoke(a);
            a.push(UserSs);
            a.mov(rax, UserStack);
            a.push(rax);
            a.push((int)UserFlags);
            a.push(compatibilityMode ? UserCs32 : UserCs);
            a.mov(rax, UserCode);
            a.push(rax);
            a.iretq();
        });
        GuestMemory memory = t.Vm.Memory;
        ReadOnlySpan<ulong> gdt = [0, 0x00AF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF, 0x00CF_FA00_0000_FFFF, 0x00CF_F200_0000_FFFF, 0x00AF_FA00_0000_FFFF];
        for (int i = 0; i < gdt.Length; i++)
        {
            memory.TryWrite(Gdt + (ulong)(i * 8), gdt[i]);
        }

        // An available 64-bit TSS (type 9), two slots.
        memory.TryWrite(Gdt + 0x30, (tssLimit & 0xFFFF) | ((Tss & 0xFF_FFFF) << 16) | (0x89UL << 40) | ((ulong)(tssLimit >> 16) << 48) | ((Tss >> 24 & 0xFF) << 56));
        memory.TryWrite(Gdt + 0x38, Tss >> 32);
        memory.TryWrite(Gdtr, (ushort)(0x40 - 1));
        memory.TryWrite(Gdtr + 2, Gdt);
        memory.TryWrite(Tss + 4, rsp0);
        memory.TryWrite(Tss + 0x24, Ist1);
        memory.TryWrite(Idtr, (ushort)((256 * 16) - 1));
        memory.TryWrite(Idtr + 2, Idt);

        // The first 2 MiB user-accessible: PML4E, PDPTE and PDE 0 get U/S.
        ulong pml4 = t.Vm.Memory.RamSize - IdentityMap.TablesSize;
        SetBits(memory, pml4, UserBit);
        ulong pdpt = Read(memory, pml4) & 0x000F_FFFF_FFFF_F000;
        SetBits(memory, pdpt, UserBit);
        SetBits(memory, Read(memory, pdpt) & 0x000F_FFFF_FFFF_F000, UserBit);

        (byte[] code, _) = TestVm.Assemble(compatibilityMode ? 32 : 64, UserCode, a =>
        {
            user(a);
            return [];
        });
        memory.Write(UserCode, code);

        // #GP at ring 0: record the error code and the CS pushed, and halt (the user program's end).
        Handler(t, 13, 0x8E, dpl: 0, ist: 0, a =>
        {
            a.mov(rax, __qword_ptr[rsp]);
            a.mov(__qword_ptr[Results + 0xF00], rax);
            a.mov(rax, __qword_ptr[rsp + 16]);
            a.mov(__qword_ptr[Results + 0xF08], rax);
            a.hlt();
        });
        return t;
    }

    /// <summary>Writes a handler for <paramref name="vector"/> at its own address and its IDT gate (access byte
    /// <paramref name="type"/>: 8Eh interrupt gate, 8Fh trap gate; DPL and IST as given).</summary>
    public static void Handler(TestVm t, int vector, byte type, int dpl, int ist, Action<Assembler> body)
    {
        ulong at = Handlers + ((ulong)vector * 0x100);
        (byte[] code, _) = TestVm.Assemble(64, at, a =>
        {
            body(a);
            return [];
        });
        t.Vm.Memory.Write(at, code);
        Span<byte> gate = stackalloc byte[16];
        BitConverter.TryWriteBytes(gate, (ushort)at);
        BitConverter.TryWriteBytes(gate[2..], KernelCs);
        gate[4] = (byte)ist;
        gate[5] = (byte)(type | (dpl << 5));
        BitConverter.TryWriteBytes(gate[6..], (ushort)(at >> 16));
        BitConverter.TryWriteBytes(gate[8..], (uint)(at >> 32));
        t.Vm.Memory.Write(Idt + ((ulong)vector * 16), gate);
    }

    /// <summary>Code for a ring-0 handler: stores RSP, the five frame slots above it (error code skipped when
    /// <paramref name="errorCode"/>), CS, SS, RFLAGS and CR3 (a privileged read: at CPL 3 it would fault) at
    /// <paramref name="at"/>.</summary>
    public static void RecordFrame(Assembler a, ulong at, bool errorCode)
    {
        int skip = errorCode ? 8 : 0;
        a.mov(__qword_ptr[at], rsp);
        for (int i = 0; i < 5; i++)
        {
            a.mov(rax, __qword_ptr[rsp + skip + (i * 8)]);
            a.mov(__qword_ptr[at + 8 + (ulong)(i * 8)], rax);
        }

        a.mov(rax, cr3);
        a.mov(__qword_ptr[at + 0x30], rax);
        a.xor(eax, eax);
        a.mov(ax, cs);
        a.mov(__qword_ptr[at + 0x38], rax);
        a.mov(ax, ss);
        a.mov(__qword_ptr[at + 0x40], rax);
        a.pushfq();
        a.pop(rax);
        a.mov(__qword_ptr[at + 0x48], rax);
        if (errorCode)
        {
            a.mov(rax, __qword_ptr[rsp]);
            a.mov(__qword_ptr[at + 0x50], rax);
        }
    }

    /// <summary>Code for the user program's tail: stores CS, SS, RSP and RFLAGS at <paramref name="at"/>, then HLT (#GP at CPL 3).</summary>
    public static void RecordUserAndEnd(Assembler a, ulong at)
    {
        a.mov(__qword_ptr[at + 16], rsp);
        a.pushfq(); // before the XOR, which changes the arithmetic flags
        a.pop(rax);
        a.mov(__qword_ptr[at + 24], rax);
        a.xor(eax, eax);
        a.mov(ax, cs);
        a.mov(__qword_ptr[at], rax);
        a.mov(ax, ss);
        a.mov(__qword_ptr[at + 8], rax);
        a.hlt();
    }

    /// <summary>Kernel setup code for SYSCALL: EFER.SCE set or cleared by <paramref name="sce"/> (read-modify-write),
    /// STAR from <see cref="StarKernel"/>/<see cref="StarUser"/>, LSTAR <see cref="SyscallHandler"/>, FMASK <see cref="Fmask"/>.</summary>
    public static void EnableSyscall(Assembler a, bool sce)
    {
        a.mov(ecx, 0xC000_0080);
        a.rdmsr();
        if (sce)
        {
            a.or(eax, 1);
        }
        else
        {
            a.and(eax, ~1);
        }

        a.wrmsr();
        a.mov(ecx, 0xC000_0081);
        a.xor(eax, eax);
        a.mov(edx, (StarUser << 16) | StarKernel);
        a.wrmsr();
        a.mov(ecx, 0xC000_0082);
        a.mov(eax, (uint)SyscallHandler);
        a.xor(edx, edx);
        a.wrmsr();
        a.mov(ecx, 0xC000_0084);
        a.mov(eax, Fmask);
        a.wrmsr();
    }

    public static ulong Read(GuestMemory memory, ulong address) =>
        memory.TryRead(address, out ulong value) ? value : throw new InvalidOperationException($"0x{address:X} is not in RAM");

    private static void SetBits(GuestMemory memory, ulong address, ulong bits) => memory.TryWrite(address, Read(memory, address) | bits);
}
