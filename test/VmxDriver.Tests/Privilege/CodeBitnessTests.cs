// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;
using HyperDbgRemote.VmxDriver.Internal.Execution;
using HyperDbgRemote.VmxDriver.Tests.Fakes;
using static HyperDbgRemote.VmxDriver.Tests.Privilege.RingGuest;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests.Privilege;

/// <summary>
/// The code size of the current instruction (<see cref="Vcpu.CodeBitness"/>), which every decoder of guest code uses
/// (the disassembler and <c>u</c>, stepping, the I/O-site and #PF decoders): 64 in 64-bit mode, CS.D's 32 or 16 in
/// compatibility mode (long mode, CS.L clear) and protected mode, 16 in real mode (SDM Vol. 3A, "IA-32e Mode").
/// </summary>
public sealed class CodeBitnessTests
{
    private const ushort Code16Selector = 0x43;
    private const ulong Code16Base = UserCode;
    private const ulong Code16Offset = 0x800;
    private const ulong Buffer = 0x8000; // below 64 KiB: SI reaches it
    private const ulong IoplThree = 0x3000;

    private const uint Present = SegmentCache.Present, CodeSegment = SegmentCache.CodeOrData | SegmentCache.Code | SegmentCache.ReadWrite;

    [TestCase(true, 0UL, 0u, 64, Description = "a 64-bit engine before any far transfer: CS's hidden part is empty, the code is 64-bit")]
    [TestCase(true, 1UL, Present | CodeSegment | SegmentCache.Long, 64, Description = "long mode, CS.L: 64-bit mode")]
    [TestCase(true, 1UL, Present | CodeSegment | SegmentCache.Big, 32, Description = "long mode, CS.L clear, CS.D: compatibility mode, 32-bit code")]
    [TestCase(true, 1UL, Present | CodeSegment, 16, Description = "long mode, CS.L and CS.D clear: compatibility mode, 16-bit code")]
    [TestCase(true, 1UL, CodeSegment | SegmentCache.Big, 64, Description = "long mode, a CS without P is not a loaded code segment")]
    [TestCase(false, 1UL, Present | CodeSegment | SegmentCache.Big, 32, Description = "protected mode, CS.D")]
    [TestCase(false, 1UL, Present | CodeSegment, 16, Description = "protected mode, CS.D clear")]
    [TestCase(false, 0UL, Present | CodeSegment | SegmentCache.Big, 16, Description = "real mode")]
    public void CodeBitness_FromLongModeCr0PeAndCsHiddenPart(bool longMode, ulong cr0, uint csFlags, int expected)
    {
        // Arrange
        var context = new FakeExecutionContext(longMode, null!, null!, _ => default);
        context.WriteRegister(GuestRegister.Cr0, cr0);
        context.LoadSegment(GuestRegister.Cs, new SegmentCache(0x10, 0, uint.MaxValue, csFlags));

        // Act
        int bitness = Segmentation.CodeBitness(context, longMode);

        // Assert
        Assert.That(bitness, Is.EqualTo(expected));
    }

    [TestCase(true, Present | CodeSegment | SegmentCache.Long, 0UL, 0UL, Description = "64-bit mode: CS and DS bases are 0 whatever the hidden parts hold")]
    [TestCase(true, Present | CodeSegment | SegmentCache.Big, 0x30000UL, 0x5000UL, Description = "compatibility mode: the loaded descriptors' bases apply")]
    [TestCase(true, Present | CodeSegment, 0x30000UL, 0x5000UL, Description = "compatibility mode, 16-bit code: the same")]
    [TestCase(false, Present | CodeSegment | SegmentCache.Big, 0x30000UL, 0x5000UL, Description = "protected mode: the loaded descriptors' bases")]
    public void Base_CsAndDs_ByMode(bool longMode, uint csFlags, ulong expectedCs, ulong expectedDs)
    {
        // Arrange: CS with base 30000h and DS with base 5000h in their hidden parts; FS's base MSR 7000h.
        var context = new FakeExecutionContext(longMode, null!, null!, _ => default);
        context.WriteRegister(GuestRegister.Cr0, 1);
        context.LoadSegment(GuestRegister.Cs, new SegmentCache(0x10, 0x30000, uint.MaxValue, csFlags));
        context.LoadSegment(GuestRegister.Ds, new SegmentCache(0x18, 0x5000, uint.MaxValue, Present | SegmentCache.CodeOrData | SegmentCache.ReadWrite));
        context.WriteRegister(GuestRegister.FsBase, 0x7000);
        context.LoadSegment(GuestRegister.Fs, new SegmentCache(0x18, 0x7000, uint.MaxValue, Present | SegmentCache.CodeOrData | SegmentCache.ReadWrite));

        // Act
        (ulong cs, ulong ds, ulong fs) = (Segmentation.Base(context, longMode, GuestRegister.Cs), Segmentation.Base(context, longMode, GuestRegister.Ds), Segmentation.Base(context, longMode, GuestRegister.Fs));

        // Assert
        Assert.That((cs, ds, fs), Is.EqualTo((expectedCs, expectedDs, 0x7000UL)));
    }

    [TestCase(64, Description = "64-bit ring 3: RSI, address size 64")]
    [TestCase(32, Description = "compatibility mode, CS 1Bh (D set): ESI, address size 32")]
    [TestCase(16, Description = "compatibility mode after a far JMP to CS 43h (D and L clear): SI, address size 16")]
    public void OutsbExit_InEachLongModeCodeSize_ReportsItsBitnessAndAddressSize(int codeSize)
    {
        // Arrange: a ring-3 program with IOPL 3 loads DS with its flat data segment, optionally far-jumps to the 16-bit
        // code segment, then OUTSB sends the byte at Buffer to port E9h (trapped) and HLT raises #GP (the end).
        using TestVm t = Create(
            a =>
            {
                a.mov(eax, (uint)UserSs);
                a.mov(ds, ax);
                if (codeSize == 16)
                {
                    a.db(0xEA);
                    a.dd((uint)Code16Offset);
                    a.dw(Code16Selector);
                }
                else
                {
                    Outsb(a);
                }
            },
            compatibilityMode: codeSize != 64,
            userFlags: UserFlags | IoplThree);
        if (codeSize == 16)
        {
            // A 16-bit ring-3 code segment (limit FFFFh, base 30000h, D and L clear) in GDT slot 40h.
            t.Vm.Memory.TryWrite(Gdt + 0x40, 0x0000_FA03_0000_FFFFUL);
            t.Vm.Memory.TryWrite(Gdtr, (ushort)(0x48 - 1));
            (byte[] code16, _) = TestVm.Assemble(16, Code16Offset, a =>
            {
                Outsb(a);
                return [];
            });
            t.Vm.Memory.Write(Code16Base + Code16Offset, code16);
        }

        t.Vm.Memory.Write(Buffer, "Z"u8);
        var seen = new List<(int Core, int Exit)>();
        var exits = new RecordingExitHandler(e =>
        {
            if (e.Qualification.Port == 0xE9)
            {
                seen.Add((e.Core.CodeBitness(), e.CodeBitness));
            }
        });
        t.Core0.Controls.SetAll(true);
        t.Vm.ExitHandler = exits;

        // Act
        t.Run();

        // Assert
        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("Z"));
        Assert.That(seen, Is.Not.Empty.And.All.EqualTo((codeSize, codeSize)), "the core's code size during the OUTSB's exit, and the exit's");
        ExitRecord exit = exits.Exits.Single(e => e.Qualification.Port == 0xE9 && e.Stage == ExitStage.Pre);
        Assert.That(exit.LinearAddress, Is.EqualTo(Buffer));
        if (codeSize == 16)
        {
            Assert.That(exit.Rip, Is.InRange(Code16Offset, Code16Offset + 0x20), "RIP is the offset in the 16-bit code segment (base 30000h), not the linear address");
        }

        uint addressSize = (exit.Information >> 7) & 7;
        Assert.That(addressSize, Is.EqualTo(codeSize switch { 16 => 0u, 32 => 1u, _ => 2u }), "instruction information: address size");
        Assert.That(exit.Text, Does.StartWith("outsb"), "the I/O site decoded in the code's size");
        ushort expectedCs = codeSize switch { 16 => Code16Selector, 32 => UserCs32, _ => UserCs };
        Assert.That(Read(t.Vm.Memory, Results + 0xF08), Is.EqualTo(expectedCs), "the HLT's #GP came from the code segment the test chose");
        Assert.That(t.Core0.Is64Bit, Is.True, "the core is in long mode throughout");
    }

    /// <summary>DX = E9h, (E)SI = <see cref="Buffer"/>, OUTSB, HLT: the same bytes' meaning in every code size but
    /// 16-bit, where the operands are 16 bits wide.</summary>
    private static void Outsb(Iced.Intel.Assembler a)
    {
        a.mov(dx, 0xE9);
        if (a.Bitness == 16)
        {
            a.mov(si, (ushort)Buffer);
        }
        else
        {
            a.mov(esi, (uint)Buffer);
        }

        a.cld();
        a.outsb();
        a.hlt();
    }
}
