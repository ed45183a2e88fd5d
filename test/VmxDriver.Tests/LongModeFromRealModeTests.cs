// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// A core started in real mode (a 16-bit engine) whose code enters long mode itself, as Linux's setup code does after
/// a BIOS: from then on the core follows the CPU's state, not how it was created. Its registers are 64 bits wide, an
/// I/O exit in 64-bit code sees them so, and an exception and a software interrupt go through the 64-bit IDT.
/// </summary>
public sealed class LongModeFromRealModeTests
{
    private const ulong Pml4 = 0x1000;
    private const ulong Pdpt = 0x2000;
    private const ulong PageDirectory = 0x3000;
    private const ulong Idt = 0x4000;
    private const ulong Gdt = 0x500;
    private const ulong GdtPointer = 0x620;
    private const ulong IdtPointer = 0x600;
    private const ulong Code64 = 0x8000;
    private const ulong UdHandler = 0x9000;
    private const ulong IntHandler = 0x9800;
    private const byte TrappedPort = 0x80;
    private const ulong Rax64 = 0x1122_3344_5566_7788;
    private const ulong R9Value = 0xAABB_CCDD_0011_2233;
    private const ulong StackTop = 0x7_0000;

    [Test]
    public void RealModeCoreEntersLongMode_IoExitSeesTheFullRegisters_AndExceptionAndIntGoThroughThe64BitIdt()
    {
        // Arrange: real mode -> PAE, EFER.LME, CR0.PE|PG -> a far jump to a 64-bit code segment (SDM Vol. 3A 10.8.5).
        using TestVm t = TestVm.Create16(a =>
        {
            a.cli();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.lgdt(__[(uint)GdtPointer]);
            a.mov(eax, cr4);
            a.or(eax, 0x20); // PAE
            a.mov(cr4, eax);
            a.mov(eax, (uint)Pml4);
            a.mov(cr3, eax);
            a.mov(ecx, 0xC000_0080);
            a.rdmsr();
            a.or(eax, 0x100); // LME
            a.wrmsr();
            a.mov(eax, cr0);
            a.or(eax, unchecked((int)0x8000_0001)); // PG | PE
            a.mov(cr0, eax);
            a.db(0xEA, unchecked((byte)Code64), (byte)(Code64 >> 8), 0x08, 0x00); // jmp far 0x08:0x8000
        });
        (byte[] main, ulong[] labels) = TestVm.Assemble(64, Code64, a =>
        {
            Label ud = a.CreateLabel();
            Label io = a.CreateLabel();
            a.mov(rsp, (long)StackTop);
            a.lidt(__[(long)IdtPointer]);
            a.mov(rax, unchecked((long)Rax64));
            a.mov(r9, unchecked((long)R9Value));
            a.Label(ref io);
            a.@out(TrappedPort, al);
            a.@int(0x40);
            a.Label(ref ud);
            a.ud2();
            a.hlt();
            return [ud, io];
        });
        (byte[] intHandler, _) = TestVm.Assemble(64, IntHandler, a =>
        {
            a.mov(r10, __qword_ptr[rsp]); // the return RIP
            a.mov(r11, __qword_ptr[rsp + 8]); // CS
            a.iretq();
            return [];
        });
        (byte[] udHandler, _) = TestVm.Assemble(64, UdHandler, a =>
        {
            a.mov(rbx, __qword_ptr[rsp]); // the faulting RIP
            a.mov(rdx, __qword_ptr[rsp + 8]); // CS
            a.hlt();
            return [];
        });
        BuildTables(t.Vm.Memory);
        t.Vm.Memory.Write(Code64, main);
        t.Vm.Memory.Write(IntHandler, intHandler);
        t.Vm.Memory.Write(UdHandler, udHandler);
        ulong? raxAtExit = null;
        ulong? r9AtExit = null;
        var exits = new RecordingExitHandler(exit =>
        {
            raxAtExit = exit.Core.ReadRegister(GuestRegister.Rax);
            r9AtExit = exit.Core.ReadRegister(GuestRegister.R9);
        });
        t.Vm.ExitHandler = exits;
        t.Core0.Controls.SetPort(TrappedPort, true);
        Assert.That(t.Core0.Is64Bit, Is.False, "the core starts in real mode");

        // Act
        t.Run();

        // Assert
        Assert.That(t.Core0.Is64Bit, Is.True, "EFER.LMA is set");
        Assert.That(exits.Exits, Has.Count.EqualTo(1));
        Assert.That(exits.Exits[0].Rip, Is.EqualTo(labels[1]), "the exit's RIP is the OUT in 64-bit code");
        Assert.That(raxAtExit, Is.EqualTo(Rax64), "RAX at its 64-bit width in the exit");
        Assert.That(r9AtExit, Is.EqualTo(R9Value), "R9 exists in long mode");
        Assert.That(t.Core0.ReadRegister(GuestRegister.R10), Is.EqualTo(labels[0]), "INT 0x40 pushed the RIP after it and IRETQ returned there");
        Assert.That(t.Core0.ReadRegister(GuestRegister.R11), Is.EqualTo(0x08UL), "and the 64-bit code segment");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(labels[0]), "#UD through the 64-bit IDT with RIP at the UD2");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rdx), Is.EqualTo(0x08UL));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rip), Is.EqualTo(UdHandler + 4 + 5 + 1), "halted after the handler's HLT");
        Assert.That(t.Core0.InterruptsDelivered, Is.EqualTo(2));
    }

    /// <summary>Identity-maps the first 2 MiB (one large page), a GDT with a 64-bit code segment at 0x08, and a
    /// 64-bit IDT with #UD and vector 0x40.</summary>
    private static void BuildTables(GuestMemory memory)
    {
        memory.TryWrite(Pml4, Pdpt | 0x3);
        memory.TryWrite(Pdpt, PageDirectory | 0x3);
        memory.TryWrite(PageDirectory, 0x83UL); // present, writable, 2 MiB page at 0
        memory.TryWrite(Gdt, 0UL);
        memory.TryWrite(Gdt + 8, 0x0020_9A00_0000_0000UL); // code: present, ring 0, L = 1
        memory.TryWrite(Gdt + 16, 0x0000_9200_0000_0000UL); // data
        var gdtr = new byte[6];
        BinaryPrimitives.WriteUInt16LittleEndian(gdtr, 23);
        BinaryPrimitives.WriteUInt32LittleEndian(gdtr.AsSpan(2), (uint)Gdt);
        memory.Write(GdtPointer, gdtr);
        var idtr = new byte[10];
        BinaryPrimitives.WriteUInt16LittleEndian(idtr, (256 * 16) - 1);
        BinaryPrimitives.WriteUInt64LittleEndian(idtr.AsSpan(2), Idt);
        memory.Write(IdtPointer, idtr);
        memory.Write(Idt + (6 * 16), Gate(UdHandler));
        memory.Write(Idt + (0x40 * 16), Gate(IntHandler));
    }

    /// <summary>A 64-bit interrupt gate to <paramref name="target"/> in segment 0x08 (SDM Vol. 3A 7.14.1).</summary>
    private static byte[] Gate(ulong target)
    {
        var gate = new byte[16];
        BinaryPrimitives.WriteUInt16LittleEndian(gate, (ushort)target);
        BinaryPrimitives.WriteUInt16LittleEndian(gate.AsSpan(2), 0x08);
        gate[5] = 0x8E; // present, DPL 0, 64-bit interrupt gate
        BinaryPrimitives.WriteUInt16LittleEndian(gate.AsSpan(6), (ushort)(target >> 16));
        BinaryPrimitives.WriteUInt32LittleEndian(gate.AsSpan(8), (uint)(target >> 32));
        return gate;
    }
}
