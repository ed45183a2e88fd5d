// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using HyperDbgRemote.VmxDriver.Internal.Engine;
using HyperDbgRemote.VmxDriver.Internal.Unicorn;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests.Privilege;

/// <summary>The calibration that finds the engine's segment caches in a saved context, and the segment loader built on it
/// (<see cref="IExecutionContext.LoadSegment"/>), executing through what it loaded.</summary>
public sealed class SegmentCacheFieldTests
{
    private const byte Port = 0x80;
    private const ulong Results = TestVm.DataAddress;
    private const uint Magic = 0xC0DE_5EED;

    [Test]
    public void Calibrated_OnTheLoadedEngine_FindsSixCachesThatExecute()
    {
        // Act: the real calibration, on the engine the build copied (Unicorn 2.1.1).
        SegmentCacheField field = SegmentCacheField.Calibrated;

        // Assert: QEMU's SegmentCache (u32 selector, u64 base, u32 limit, u32 flags), one per register, after hflags;
        // and code runs through segments loaded there (the calibration's own check, run again).
        TestContext.Out.WriteLine($"segs[] at offset {field.Offset}, stride {field.Stride}, base +{field.BaseOffset}, limit +{field.LimitOffset}, "
            + $"flags +{field.FlagsOffset}; hflags at {field.HflagsOffset}; {field.ContextSize}-byte contexts");
        Assert.That(field.Stride, Is.EqualTo(24));
        Assert.That((field.BaseOffset, field.LimitOffset, field.FlagsOffset), Is.EqualTo((8, 16, 20)));
        Assert.That(field.Offset, Is.GreaterThan(field.HflagsOffset));
        Assert.That(SegmentCacheProbe.Verify(field), Is.Null);
    }

    [Test]
    public void Calibrate_SelectorsNotFound_FailsNamingTheEngine()
    {
        var seen = new SegmentCacheProbe.Observation([0x3C5A, 0x4D6B, 0x5E7C, 0x6F8D, 0x709E, 0x81AF], new byte[512]);

        var ex = Assert.Throws<CpuEngineUnavailableException>(() => SegmentCacheField.Calibrate(seen, 0, _ => null, "Unicorn 9.9.9 from test"));

        Assert.That(ex!.Message, Does.Contain("Unicorn 9.9.9 from test").And.Contain("3C5Ah").And.Contain("0 times"));
    }

    [Test]
    public void Calibrate_CodeDoesNotRunThroughTheFoundFields_FailsSayingWhatWentWrong()
    {
        // Arrange: six real-mode loads at stride 24 from offset 64.
        ushort[] selectors = [0x3C5A, 0x4D6B, 0x5E7C, 0x6F8D, 0x709E, 0x81AF];
        byte[] context = new byte[512];
        for (int i = 0; i < selectors.Length; i++)
        {
            Span<byte> cache = context.AsSpan(64 + (i * 24));
            BinaryPrimitives.WriteUInt32LittleEndian(cache, selectors[i]);
            BinaryPrimitives.WriteUInt64LittleEndian(cache[8..], (ulong)selectors[i] << 4);
            BinaryPrimitives.WriteUInt32LittleEndian(cache[16..], 0xFFFF);
            BinaryPrimitives.WriteUInt32LittleEndian(cache[20..], 0x9300);
        }

        var seen = new SegmentCacheProbe.Observation(selectors, context);

        // Act
        SegmentCacheField? verified = null;
        var ex = Assert.Throws<CpuEngineUnavailableException>(() => SegmentCacheField.Calibrate(seen, 8, f =>
        {
            verified = f;
            return "EAX 0x0";
        }, "test engine"));

        // Assert: the layout was found as placed, and the failed run is what the error reports.
        Assert.That((verified!.Offset, verified.Stride, verified.BaseOffset, verified.LimitOffset, verified.FlagsOffset), Is.EqualTo((64, 24, 8, 16, 20)));
        Assert.That(ex!.Message, Does.Contain("test engine").And.Contain("EAX 0x0").And.Contain("offset 64"));
    }

    [Test]
    public void LoadSegment_Flat32BitStackIn16BitEngine_PushAndPopUseItsBaseAndEsp()
    {
        // Arrange: real mode enters 32-bit protected mode (the engine's own far jump loads CS); SS is still the real-mode
        // one (base 0, 16-bit). At the OUT the exit handler loads SS = 10h: base 30000h, 4 GiB, B set, DPL 0.
        const ulong stackBase = 0x30000, stackTop = 0x2_0000;
        SegmentCache ss = new(0x10, stackBase, uint.MaxValue, SegmentCache.FlatData);
        using TestVm t = ProtectedMode32(a =>
        {
            a.mov(esp, (uint)stackTop);
            a.@out(Port, al);
            Label next = a.CreateLabel();
            a.jmp(next); // ends the block: what follows is translated with the new SS
            a.Label(ref next);
            a.mov(eax, Magic);
            a.push(eax);
            a.mov(__dword_ptr[(uint)Results], esp);
            a.pop(ebx);
            a.hlt();
        });
        t.Core0.Controls.SetPort(Port, true);
        t.Vm.ExitHandler = new RecordingExitHandler(e => e.Core.Context.LoadSegment(GuestRegister.Ss, ss));

        // Act
        t.Run();

        // Assert: a 32-bit push at SS base + ESP - 4 (a 16-bit one would have written at 0xFFFC), popped back.
        Assert.That(Read32(t, stackBase + stackTop - 4), Is.EqualTo(Magic), "pushed at SS base + ESP - 4");
        Assert.That(Read32(t, Results), Is.EqualTo((uint)stackTop - 4), "ESP after the push");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(Magic), "popped");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rsp), Is.EqualTo(stackTop));
        Assert.That(t.Core0.Context.ReadSegment(GuestRegister.Ss), Is.EqualTo(ss));
        Assert.That(t.Core0.SegmentBase(GuestRegister.Ss), Is.EqualTo(stackBase));
        Assert.That(t.Core0.Context.ReadPrivilegeLevel(), Is.Zero);
    }

    [Test]
    public void LoadSegment_32BitCodeIn64BitEngine_ExecutesInCompatibilityMode()
    {
        // Arrange: at the OUT the handler loads CS = 18h, a 32-bit code segment (L clear, D set), and SS a flat 32-bit
        // stack. The bytes after the jump are 48h F4h: DEC EAX; HLT in 32-bit code, REX.W HLT in 64-bit code.
        SegmentCache cs = new(0x18, 0, uint.MaxValue, SegmentCache.FlatCode);
        SegmentCache ss = new(0x10, 0, uint.MaxValue, SegmentCache.FlatData);
        using TestVm t = TestVm.Create64(a =>
        {
            a.mov(eax, 5);
            a.mov(rsp, 0x7_0000);
            a.@out(Port, al);
            Label next = a.CreateLabel();
            a.jmp(next);
            a.Label(ref next);
            a.db(0x48, 0x50, 0xF4); // 32-bit: dec eax; push eax; hlt
        });
        t.Core0.Controls.SetPort(Port, true);
        t.Vm.ExitHandler = new RecordingExitHandler(e =>
        {
            e.Core.Context.LoadSegment(GuestRegister.Ss, ss);
            e.Core.Context.LoadSegment(GuestRegister.Cs, cs);
        });

        // Act
        t.Run();

        // Assert: DEC ran, and PUSH pushed a doubleword.
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rax), Is.EqualTo(4), "DEC EAX executed: 32-bit code");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rsp), Is.EqualTo(0x7_0000 - 4), "a doubleword pushed");
        Assert.That(Read32(t, 0x7_0000 - 4), Is.EqualTo(4));
        Assert.That(t.Core0.Context.ReadSegment(GuestRegister.Cs), Is.EqualTo(cs));
    }

    [Test]
    public void LoadSegment_NotASegmentRegister_Throws()
    {
        using TestVm t = TestVm.Create64(a => a.hlt());

        Assert.Throws<ArgumentOutOfRangeException>(() => t.Core0.Context.LoadSegment(GuestRegister.Rax, default));
    }

    /// <summary>A real-mode stub that enters 32-bit protected mode (flat code 08h, data 10h as DS and ES) and runs
    /// <paramref name="program"/> at 8000h.</summary>
    internal static TestVm ProtectedMode32(Action<Assembler> program)
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
            program(a);
            return [];
        });
        t.Vm.Memory.Write(pm32, code);
        t.Vm.Memory.Write(gdt, [.. BitConverter.GetBytes(0UL), .. BitConverter.GetBytes(0x00CF_9A00_0000_FFFFUL), .. BitConverter.GetBytes(0x00CF_9200_0000_FFFFUL)]);
        t.Vm.Memory.TryWrite(gdtr, (ushort)23);
        t.Vm.Memory.TryWrite(gdtr + 2, (uint)gdt);
        return t;
    }

    private static uint Read32(TestVm t, ulong address)
    {
        Assert.That(t.Vm.Memory.TryRead(address, out uint value), Is.True, $"0x{address:X} is in RAM");
        return value;
    }
}
