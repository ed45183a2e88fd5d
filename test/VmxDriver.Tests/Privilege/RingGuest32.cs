// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests.Privilege;

/// <summary>
/// A 32-bit protected-mode test guest with rings, on a 16-bit engine: a real-mode stub enters protected mode; the kernel
/// (ring 0, at <see cref="Kernel"/>) turns on 32-bit paging with 4-MiB pages (the first 4 MiB identity-mapped and
/// user-accessible, and a supervisor alias of them at <see cref="Alias"/>), reloads GDTR with the GDT's alias address
/// (so descriptors are read through the page walk: the alias is no physical address of the VM's RAM), loads IDTR and a
/// 32-bit TSS (SS0:ESP0 = 10h:<see cref="Esp0"/>), masks every IRQ at both 8259s, and IRETDs to the user program at
/// ring 3 (the engine's own IRET). GDT: kernel code 08h, kernel data 10h, user code 1Bh, user data 23h, TSS 28h, and for
/// fault tests a conforming ring-0 code segment 30h, a not-present ring-0 data segment 38h and a not-present ring-0
/// code segment 40h. The
/// ring-0 #GP handler records its frame at <see cref="GpFrame"/> and halts (the user program ends with HLT, which
/// faults at CPL 3).
/// </summary>
internal static class RingGuest32
{
    public const ulong Kernel = 0x8000;
    public const ulong Gdt = 0x9000;
    public const ulong Tss = 0xA000;
    public const ulong Idt = 0xB000;
    public const ulong Idtr = 0xB800;
    public const ulong GdtrLow = 0xB810;
    public const ulong GdtrAlias = 0xB820;
    public const ulong Handlers = 0x1_0000;
    public const ulong PageDirectory = 0x2_0000;
    public const ulong Results = 0x2_6000;
    public const ulong GpFrame = 0x2_6F00;
    public const ulong UserCode = 0x3_0000;
    public const ulong UserStack = 0x4_0000;
    public const ulong Esp0 = 0x5_0000;
    public const ulong KernelStack = 0x7000;
    public const ulong Alias = 0x8000_0000;
    public const ushort KernelCs = 0x08, KernelSs = 0x10, UserCs = 0x1B, UserSs = 0x23, TssSelector = 0x28;
    public const ushort ConformingCs = 0x30, NotPresentSs = 0x38, NotPresentCs = 0x40;
    public const uint UserFlags = 0x202;
    public const uint TssLimit = 0x67;

    /// <summary>Builds the VM: <paramref name="user"/> is the ring-3 program (32-bit), <paramref name="kernelSetup"/> runs at
    /// ring 0 before the IRETD (MSRs, for one); <paramref name="ss0"/>, <paramref name="esp0"/> and
    /// <paramref name="tssLimit"/> go into the TSS, a 16-bit one (type 1: SP0 at 2, SS0 at 4) when
    /// <paramref name="tss16"/>.</summary>
    public static TestVm Create(Action<Assembler> user, Action<Assembler>? kernelSetup = null, ushort ss0 = KernelSs, uint tssLimit = TssLimit, uint esp0 = (uint)Esp0, bool tss16 = false)
    {
        TestVm t = TestVm.Create16(a =>
        {
            a.cli();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.lgdt(__[(uint)GdtrLow]);
            a.mov(eax, cr0);
            a.or(eax, 1);
            a.mov(cr0, eax);
            a.db(0x66, 0xEA); // jmp far dword 08h:Kernel
            a.dd((uint)Kernel);
            a.dw(KernelCs);
        });
        GuestMemory memory = t.Vm.Memory;
        (byte[] kernel, _) = TestVm.Assemble(32, Kernel, a =>
        {
            a.mov(ax, KernelSs);
            a.mov(ds, ax);
            a.mov(es, ax);
            a.mov(ss, ax);
            a.mov(esp, (uint)KernelStack);
            a.mov(eax, (uint)PageDirectory);
            a.mov(cr3, eax);
            a.mov(eax, cr4);
            a.or(eax, 0x10); // PSE
            a.mov(cr4, eax);
            a.mov(eax, cr0);
            a.or(eax, unchecked((int)0x8000_0000));
            a.mov(cr0, eax);
            a.lgdt(__[(uint)GdtrAlias]);
            a.lidt(__[(uint)Idtr]);
            a.mov(ax, TssSelector);
            a.ltr(ax);
            a.mov(al, 0xFF);
            a.@out(0x21, al);
            a.@out(0xA1, al);
            kernelSetup?.Invoke(a);
            a.push(UserSs);
            a.push((uint)UserStack);
            a.push(UserFlags);
            a.push(UserCs);
            a.push((uint)UserCode);
            a.iretd();
            return [];
        });
        memory.Write(Kernel, kernel);

        ReadOnlySpan<ulong> gdt = [0, 0x00CF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF, 0x00CF_FA00_0000_FFFF, 0x00CF_F200_0000_FFFF];
        for (int i = 0; i < gdt.Length; i++)
        {
            memory.TryWrite(Gdt + (ulong)(i * 8), gdt[i]);
        }

        memory.TryWrite(Gdt + ConformingCs, 0x00CF_9E00_0000_FFFFUL);
        memory.TryWrite(Gdt + NotPresentSs, 0x00CF_1200_0000_FFFFUL);
        memory.TryWrite(Gdt + NotPresentCs, 0x00CF_1A00_0000_FFFFUL);

        // An available 32-bit TSS (type 9), or 16-bit (type 1).
        ulong tssType = tss16 ? 0x81UL : 0x89UL;
        memory.TryWrite(Gdt + TssSelector, (tssLimit & 0xFFFF) | ((Tss & 0xFF_FFFF) << 16) | (tssType << 40) | ((ulong)(tssLimit >> 16) << 48) | ((Tss >> 24 & 0xFF) << 56));
        memory.TryWrite(GdtrLow, (ushort)(0x48 - 1));
        memory.TryWrite(GdtrLow + 2, (uint)Gdt);
        memory.TryWrite(GdtrAlias, (ushort)(0x48 - 1));
        memory.TryWrite(GdtrAlias + 2, (uint)(Alias + Gdt));
        if (tss16)
        {
            memory.TryWrite(Tss + 2, (ushort)esp0);
            memory.TryWrite(Tss + 4, ss0);
        }
        else
        {
            memory.TryWrite(Tss + 4, esp0);
            memory.TryWrite(Tss + 8, (uint)ss0);
        }

        memory.TryWrite(Idtr, (ushort)((256 * 8) - 1));
        memory.TryWrite(Idtr + 2, (uint)Idt);

        // 4-MiB pages: PDE 0 identity, present, writable, user; PDE 200h the supervisor alias at 8000_0000h.
        memory.TryWrite(PageDirectory, 0x87u);
        memory.TryWrite(PageDirectory + ((Alias >> 22) * 4), 0x83u);

        (byte[] code, _) = TestVm.Assemble(32, UserCode, a =>
        {
            user(a);
            return [];
        });
        memory.Write(UserCode, code);

        // #GP at ring 0: record ESP, the frame (error code, EIP, CS, EFLAGS, ESP, SS) and halt.
        Handler(t, 13, 0x8E, dpl: 0, a =>
        {
            a.mov(__dword_ptr[(uint)GpFrame], esp);
            for (int i = 0; i < 6; i++)
            {
                a.mov(eax, __dword_ptr[esp + (i * 4)]);
                a.mov(__dword_ptr[(uint)GpFrame + 4 + (uint)(i * 4)], eax);
            }

            a.hlt();
        });
        return t;
    }

    /// <summary>Writes a handler for <paramref name="vector"/> at its own address and its 8-byte IDT gate (access byte
    /// <paramref name="type"/>: 8Eh 32-bit interrupt gate, 8Fh trap gate; DPL as given), for code segment 08h.</summary>
    public static void Handler(TestVm t, int vector, byte type, int dpl, Action<Assembler> body)
    {
        ulong at = Handlers + ((ulong)vector * 0x80);
        (byte[] code, _) = TestVm.Assemble(32, at, a =>
        {
            body(a);
            return [];
        });
        t.Vm.Memory.Write(at, code);
        Gate(t, vector, type, dpl, KernelCs, at);
    }

    /// <summary>Writes the 8-byte IDT gate of <paramref name="vector"/>.</summary>
    public static void Gate(TestVm t, int vector, byte type, int dpl, ushort selector, ulong offset)
    {
        Span<byte> gate = stackalloc byte[8];
        BitConverter.TryWriteBytes(gate, (ushort)offset);
        BitConverter.TryWriteBytes(gate[2..], selector);
        gate[5] = (byte)(type | (dpl << 5));
        BitConverter.TryWriteBytes(gate[6..], (ushort)(offset >> 16));
        t.Vm.Memory.Write(Idt + ((ulong)vector * 8), gate);
    }

    /// <summary>The order <see cref="StoreRegisters"/> writes the registers in, one doubleword each.</summary>
    public static readonly string[] StoredRegisters = ["EAX", "EBX", "ECX", "EDX", "ESI", "EDI", "EBP", "ESP", "EFLAGS", "CS", "SS"];

    /// <summary>Stores EAX, EBX, ECX, EDX, ESI, EDI, EBP, ESP, EFLAGS, CS and SS at <paramref name="at"/> (EAX is
    /// overwritten after its own store).</summary>
    public static void StoreRegisters(Assembler a, ulong at)
    {
        AssemblerRegister32[] registers = [eax, ebx, ecx, edx, esi, edi, ebp, esp];
        for (int i = 0; i < registers.Length; i++)
        {
            a.mov(__dword_ptr[(uint)at + (uint)(i * 4)], registers[i]);
        }

        a.pushfd();
        a.pop(eax);
        a.mov(__dword_ptr[(uint)at + 32], eax);
        a.xor(eax, eax);
        a.mov(ax, cs);
        a.mov(__dword_ptr[(uint)at + 36], eax);
        a.mov(ax, ss);
        a.mov(__dword_ptr[(uint)at + 40], eax);
    }

    /// <summary>Asserts what <see cref="StoreRegisters"/> stored at <paramref name="at"/>, register by register.</summary>
    public static void AssertRegisters(TestVm t, ulong at, uint[] expected, string when)
    {
        Assert.That(expected, Has.Length.EqualTo(StoredRegisters.Length));
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.That(Read(t, at + (ulong)(i * 4)), Is.EqualTo(expected[i]), $"{StoredRegisters[i]} {when}");
        }
    }

    public static uint Read(TestVm t, ulong address) =>
        t.Vm.Memory.TryRead(address, out uint value) ? value : throw new InvalidOperationException($"0x{address:X} is not in RAM");
}
