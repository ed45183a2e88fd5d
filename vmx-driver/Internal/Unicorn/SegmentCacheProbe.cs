// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using System.Runtime.InteropServices;
using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>
/// The calibration runs of <see cref="SegmentCacheField"/>, each in a scratch engine of its own: what the API's segment
/// writes leave in a saved context (<see cref="Observe"/>), and a 16-bit engine put into 32-bit protected mode through
/// the found fields (<see cref="Verify"/>).
/// </summary>
internal static unsafe class SegmentCacheProbe
{
    /// <summary>The limit of a real-mode load through a 16-bit engine's API (Unicorn's <c>load_seg_16_helper</c>).</summary>
    public const uint RealModeLimit = 0xFFFF;

    /// <summary>The flags of a real-mode load through a 16-bit engine's API: present, S, writable, accessed.</summary>
    public const uint RealModeFlags = 0x9300;

    private const ulong RamSize = 2 * 1024 * 1024;
    private const ulong CodeBase = 0x4000;
    private const ulong DataBase = 0x6000;
    private const ulong StackBase = 0x10000;
    private const ulong Esp = 0x1_8000;
    private const uint Magic = 0x5EC0_CA11;
    private const ushort CodeSelector = 0x08, StackSelector = 0x10, DataSelector = 0x18;
    private const int InstructionBudget = 8;

    /// <summary>Selectors for ES, CS, SS, DS, FS, GS: distinct, unlikely as other fields' values (bases 3C5A0h, ...).</summary>
    private static readonly ushort[] s_selectors = [0x3C5A, 0x4D6B, 0x5E7C, 0x6F8D, 0x709E, 0x81AF];

    /// <summary>What the API's writes left in a 16-bit engine's saved context after <see cref="Selectors"/> were written
    /// to ES, CS, SS, DS, FS and GS in real mode (each a real-mode load: base = selector × 16, limit FFFFh).</summary>
    internal sealed record Observation(ushort[] Selectors, byte[] Context);

    /// <summary>Writes the selectors through the API of a 16-bit scratch engine in real mode and saves its context. (A
    /// 64-bit engine's FS and GS writes are checked descriptor loads, so it cannot take arbitrary selectors.)</summary>
    public static Observation Observe()
    {
        using UcEngine engine = UcEngine.Open(UcConst.Mode16);
        int[] ids = [UcReg.Es, UcReg.Cs, UcReg.Ss, UcReg.Ds, UcReg.Fs, UcReg.Gs];
        for (int i = 0; i < ids.Length; i++)
        {
            engine.WriteRegister(ids[i], s_selectors[i]);
        }

        using UcContext context = UcContext.Allocate(engine);
        context.Save(engine);
        return new Observation(s_selectors, context.Bytes.ToArray());
    }

    /// <summary>
    /// Runs a 16-bit engine with CR0.PE set and, through <paramref name="field"/>, a 32-bit code segment with base
    /// 4000h, a 32-bit stack with base 10000h and a data segment with base 6000h: <c>mov eax, [10h]; push eax; pop ebx;
    /// hlt</c> must read the data segment's doubleword (32-bit code: in 16-bit code the bytes decode otherwise), push it
    /// at SS base + ESP - 4 with ESP above 64 KiB (a 32-bit stack) and reach HLT. Null when it did, else what differed.
    /// </summary>
    public static string? Verify(SegmentCacheField field)
    {
        ArgumentNullException.ThrowIfNull(field);
        byte* ram = (byte*)NativeMemory.AlignedAlloc((nuint)RamSize, 4096);
        try
        {
            var memory = new Span<byte>(ram, (int)RamSize);
            memory.Clear();
            ReadOnlySpan<byte> code = [0xA1, 0x10, 0x00, 0x00, 0x00, 0x50, 0x5B, 0xF4]; // mov eax, [10h]; push eax; pop ebx; hlt
            code.CopyTo(memory[(int)CodeBase..]);
            BinaryPrimitives.WriteUInt32LittleEndian(memory[((int)DataBase + 0x10)..], Magic);

            using UcEngine engine = UcEngine.Open(UcConst.Mode16);
            engine.MapPointer(0, RamSize, UcConst.ProtAll, ram);
            engine.WriteRegister(UcReg.Cr0, engine.ReadRegister(UcReg.Cr0) | 1);
            engine.WriteRegister(UcReg.Esp, Esp);
            using UcContext scratch = UcContext.Allocate(engine);
            if (scratch.Size != field.ContextSize)
            {
                return $"a 16-bit engine's context has {scratch.Size} bytes, the observed one {field.ContextSize}";
            }

            field.Load(engine, scratch, GuestRegister.Cs, new SegmentCache(CodeSelector, CodeBase, uint.MaxValue, SegmentCache.FlatCode), true, false);
            field.Load(engine, scratch, GuestRegister.Ss, new SegmentCache(StackSelector, StackBase, uint.MaxValue, SegmentCache.FlatData), true, false);
            field.Load(engine, scratch, GuestRegister.Ds, new SegmentCache(DataSelector, DataBase, uint.MaxValue, SegmentCache.FlatData), true, false);

            // A 16-bit engine starts at begin - CS selector × 16 (Unicorn's x86_set_pc), whatever CS's base: EIP 0.
            int err = UcNative.uc_emu_start(engine.Raw, CodeSelector * 16UL, ulong.MaxValue, 0, InstructionBudget);
            uint eax = (uint)engine.ReadRegister(UcReg.Eax), ebx = (uint)engine.ReadRegister(UcReg.Ebx);
            uint pushed = BinaryPrimitives.ReadUInt32LittleEndian(memory[(int)(StackBase + Esp - 4)..]);
            ulong eip = engine.ReadRegister(UcReg.Eip);
            if (err != UcConst.ErrOk || eax != Magic || ebx != Magic || pushed != Magic || eip != (ulong)code.Length)
            {
                return $"uc_err {err}, EAX 0x{eax:X}, EBX 0x{ebx:X}, pushed 0x{pushed:X}, EIP 0x{eip:X} "
                    + $"(expected 0, 0x{Magic:X} three times, EIP 0x{code.Length:X})";
            }

            return null;
        }
        finally
        {
            NativeMemory.AlignedFree(ram);
        }
    }
}
