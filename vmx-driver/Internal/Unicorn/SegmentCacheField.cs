// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>
/// The engine's segment registers with their hidden parts (QEMU's <c>env-&gt;segs[]</c>: for ES, CS, SS, DS, FS and GS in
/// that order a <c>SegmentCache</c> of selector, base, limit and flags) in a saved context, and the loader that writes
/// one as QEMU's <c>cpu_x86_load_seg_cache</c> does (target/i386/cpu.h), keeping the translation flags
/// (<c>hflags</c>, found by <see cref="PrivilegeLevelField"/>) consistent: CPL from SS.DPL, CS32 from CS.D, CS64 from
/// CS.L with EFER.LMA, SS32 from SS.B, ADDSEG when DS, ES or SS has a base in 32-bit protected mode.
/// <para>
/// The API cannot do this (a 16-bit engine's segment writes are real-mode loads even in protected mode, a 64-bit
/// engine's change only the selector), and it does not expose the array, so its place is found once per process by
/// calibration, never assumed (<see cref="SegmentCacheProbe"/>): distinctive selectors written through a 16-bit
/// engine's API in real mode are found in its saved context, six at one stride; being real-mode loads (base = selector
/// × 16, limit FFFFh, flags 9300h), they place base, limit and flags inside each cache; and a 16-bit engine
/// in protected mode given a 32-bit code segment, a 32-bit stack and a data segment with a base through the found fields
/// must execute 32-bit code reading and pushing through them. A calibration that fails is an error naming the engine.
/// </para>
/// </summary>
internal sealed class SegmentCacheField
{
    /// <summary>The order of QEMU's <c>segs[]</c> (R_ES, R_CS, R_SS, R_DS, R_FS, R_GS).</summary>
    public static readonly GuestRegister[] Order = [GuestRegister.Es, GuestRegister.Cs, GuestRegister.Ss, GuestRegister.Ds, GuestRegister.Fs, GuestRegister.Gs];

    // QEMU target/i386/cpu.h, HF_*_MASK.
    private const uint HfCpl = 3;
    private const uint HfCs32 = 1u << 4;
    private const uint HfSs32 = 1u << 5;
    private const uint HfAddseg = 1u << 6;
    private const uint HfLma = 1u << 14;
    private const uint HfCs64 = 1u << 15;

    private static readonly Lazy<SegmentCacheField> s_calibrated = new(
        () => Calibrate(SegmentCacheProbe.Observe(), PrivilegeLevelField.Calibrated.Offset, SegmentCacheProbe.Verify, EngineName()),
        LazyThreadSafetyMode.ExecutionAndPublication);

    internal SegmentCacheField(int offset, int stride, int baseOffset, int limitOffset, int flagsOffset, int hflagsOffset, int contextSize)
    {
        Offset = offset;
        Stride = stride;
        BaseOffset = baseOffset;
        LimitOffset = limitOffset;
        FlagsOffset = flagsOffset;
        HflagsOffset = hflagsOffset;
        ContextSize = contextSize;
    }

    /// <summary>The fields of the loaded engine, calibrated on first use.</summary>
    /// <exception cref="CpuEngineUnavailableException">The calibration failed; the message says what it saw.</exception>
    public static SegmentCacheField Calibrated => s_calibrated.Value;

    /// <summary>Offset of ES's selector (the array's start) in a saved context, header included.</summary>
    public int Offset { get; }

    /// <summary>Bytes from one register's cache to the next.</summary>
    public int Stride { get; }

    /// <summary>Offset of the 64-bit base inside one cache.</summary>
    public int BaseOffset { get; }

    /// <summary>Offset of the 32-bit limit inside one cache.</summary>
    public int LimitOffset { get; }

    /// <summary>Offset of the 32-bit flags inside one cache.</summary>
    public int FlagsOffset { get; }

    /// <summary>Offset of <c>hflags</c> in a saved context.</summary>
    public int HflagsOffset { get; }

    /// <summary>The size of the saved contexts the offsets apply to.</summary>
    public int ContextSize { get; }

    /// <summary>Loads <paramref name="segment"/> of <paramref name="engine"/> through <paramref name="scratch"/>: save,
    /// <see cref="Write"/>, restore. Call from a hook or while the engine does not run.</summary>
    public void Load(UcEngine engine, UcContext scratch, GuestRegister segment, SegmentCache cache, bool protectedMode, bool virtual8086)
    {
        scratch.Save(engine);
        Write(scratch.Bytes, segment, cache, protectedMode, virtual8086);
        scratch.Restore(engine);
    }

    /// <summary>Reads <paramref name="segment"/> of <paramref name="engine"/> through <paramref name="scratch"/>.</summary>
    public SegmentCache Read(UcEngine engine, UcContext scratch, GuestRegister segment)
    {
        scratch.Save(engine);
        return Read(scratch.Bytes, segment);
    }

    /// <summary>The cache of <paramref name="segment"/> in a saved <paramref name="context"/>.</summary>
    public SegmentCache Read(ReadOnlySpan<byte> context, GuestRegister segment)
    {
        ReadOnlySpan<byte> cache = context[(Offset + (Index(segment) * Stride))..];
        return new SegmentCache(
            (ushort)BinaryPrimitives.ReadUInt32LittleEndian(cache),
            BinaryPrimitives.ReadUInt64LittleEndian(cache[BaseOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(cache[LimitOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(cache[FlagsOffset..]));
    }

    /// <summary>
    /// Writes <paramref name="cache"/> into the saved <paramref name="context"/> as <c>cpu_x86_load_seg_cache</c> does:
    /// CS with L while EFER.LMA (hflags LMA) sets CS32, SS32 and CS64, otherwise CS32 = CS.D and CS64 clear; SS sets the
    /// CPL to its DPL; then SS32 = SS.B, and ADDSEG is set outside 64-bit code when in real mode, virtual-8086 mode or
    /// 16-bit code, otherwise when DS, ES or SS has a non-zero base.
    /// </summary>
    public void Write(Span<byte> context, GuestRegister segment, SegmentCache cache, bool protectedMode, bool virtual8086)
    {
        Span<byte> slot = context[(Offset + (Index(segment) * Stride))..];
        BinaryPrimitives.WriteUInt32LittleEndian(slot, cache.Selector);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[BaseOffset..], cache.Base);
        BinaryPrimitives.WriteUInt32LittleEndian(slot[LimitOffset..], cache.Limit);
        BinaryPrimitives.WriteUInt32LittleEndian(slot[FlagsOffset..], cache.Flags);

        Span<byte> field = context[HflagsOffset..];
        uint hflags = BinaryPrimitives.ReadUInt32LittleEndian(field);
        if (segment == GuestRegister.Cs)
        {
            if ((hflags & HfLma) != 0 && (cache.Flags & SegmentCache.Long) != 0)
            {
                hflags |= HfCs32 | HfSs32 | HfCs64;
            }
            else
            {
                hflags = (hflags & ~(HfCs32 | HfCs64)) | ((cache.Flags & SegmentCache.Big) != 0 ? HfCs32 : 0);
            }
        }

        if (segment == GuestRegister.Ss)
        {
            hflags = (hflags & ~HfCpl) | (uint)cache.Dpl;
        }

        uint newFlags = (Read(context, GuestRegister.Ss).Flags & SegmentCache.Big) != 0 ? HfSs32 : 0;
        if ((hflags & HfCs64) != 0)
        {
            // QEMU assumes a zero base for DS, ES and SS in 64-bit code: ADDSEG is left as it is.
            newFlags |= hflags & HfAddseg;
        }
        else if (!protectedMode || virtual8086 || (hflags & HfCs32) == 0)
        {
            newFlags |= HfAddseg;
        }
        else if ((Read(context, GuestRegister.Ds).Base | Read(context, GuestRegister.Es).Base | Read(context, GuestRegister.Ss).Base) != 0)
        {
            newFlags |= HfAddseg;
        }

        hflags = (hflags & ~(HfSs32 | HfAddseg)) | newFlags;
        BinaryPrimitives.WriteUInt32LittleEndian(field, hflags);
    }

    /// <summary>The index of <paramref name="segment"/> in QEMU's <c>segs[]</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not ES, CS, SS, DS, FS or GS.</exception>
    public static int Index(GuestRegister segment)
    {
        int index = Array.IndexOf(Order, segment);
        return index >= 0 ? index : throw new ArgumentOutOfRangeException(nameof(segment), segment, "not a segment register (ES, CS, SS, DS, FS, GS)");
    }

    /// <summary>
    /// The calibration: finds the six selectors of <paramref name="seen"/> at one stride in its context, the base, limit
    /// and flags of their real-mode loads inside each cache, and asks
    /// <paramref name="verify"/> to execute through the result (null: it worked, else what went wrong).
    /// </summary>
    /// <exception cref="CpuEngineUnavailableException">Any step failed; the message names the engine and the step.</exception>
    public static SegmentCacheField Calibrate(SegmentCacheProbe.Observation seen, int hflagsOffset, Func<SegmentCacheField, string?> verify, string engine)
    {
        ArgumentNullException.ThrowIfNull(seen);
        ArgumentNullException.ThrowIfNull(verify);
        List<(int Offset, int Stride)> found = Locate(seen.Context, seen.Selectors);
        if (found.Count != 1)
        {
            throw Failure(engine, $"the selectors {string.Join(", ", seen.Selectors.Select(s => $"{s:X4}h"))} written to ES, CS, SS, DS, FS and GS "
                + $"were found at one stride {found.Count} times in a saved context ({seen.Context.Length} bytes), not once");
        }

        (int offset, int stride) = found[0];
        ReadOnlySpan<byte> cache = seen.Context.AsSpan(offset, stride);
        int baseOffset = Find(cache, (ulong)seen.Selectors[0] << 4, 8, 4);
        int limitOffset = Find(cache, SegmentCacheProbe.RealModeLimit, 4, 4, baseOffset);
        int flagsOffset = Find(cache, SegmentCacheProbe.RealModeFlags, 4, 4, baseOffset);
        if (baseOffset < 0 || limitOffset < 0 || flagsOffset < 0)
        {
            throw Failure(engine, $"ES's cache after a real-mode load of {seen.Selectors[0]:X4}h (offset {offset}, {stride} bytes) has "
                + $"base {Describe(baseOffset)}, limit FFFFh {Describe(limitOffset)}, flags {SegmentCacheProbe.RealModeFlags:X}h {Describe(flagsOffset)}");
        }

        for (int i = 1; i < seen.Selectors.Length; i++)
        {
            ulong b = BinaryPrimitives.ReadUInt64LittleEndian(seen.Context.AsSpan(offset + (i * stride) + baseOffset));
            if (b != (ulong)seen.Selectors[i] << 4)
            {
                throw Failure(engine, $"{Order[i]}'s base after a real-mode load of {seen.Selectors[i]:X4}h is 0x{b:X}, not 0x{seen.Selectors[i] << 4:X}");
            }
        }

        var field = new SegmentCacheField(offset, stride, baseOffset, limitOffset, flagsOffset, hflagsOffset, seen.Context.Length);
        if (verify(field) is string failure)
        {
            throw Failure(engine, $"code run through segments loaded at offset {offset} (stride {stride}) went wrong: {failure}");
        }

        return field;
    }

    /// <summary>Every (offset, stride) at which the selectors appear in order as 32-bit fields, strides 8 to 64.</summary>
    internal static List<(int Offset, int Stride)> Locate(ReadOnlySpan<byte> context, IReadOnlyList<ushort> selectors)
    {
        var found = new List<(int, int)>();
        for (int offset = 0; offset + 4 <= context.Length; offset += 4)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(context[offset..]) != selectors[0])
            {
                continue;
            }

            for (int stride = 8; stride <= 64; stride += 4)
            {
                bool all = true;
                for (int i = 1; i < selectors.Count && all; i++)
                {
                    int at = offset + (i * stride);
                    all = at + 4 <= context.Length && BinaryPrimitives.ReadUInt32LittleEndian(context[at..]) == selectors[i];
                }

                if (all)
                {
                    found.Add((offset, stride));
                }
            }
        }

        return found;
    }

    /// <summary>The first offset after the selector, aligned to <paramref name="alignment"/>, holding <paramref name="value"/>
    /// in <paramref name="width"/> bytes outside the 8-byte field at <paramref name="exclude"/>; -1 when none.</summary>
    private static int Find(ReadOnlySpan<byte> cache, ulong value, int width, int alignment, int exclude = -1)
    {
        for (int at = 4; at + width <= cache.Length; at += alignment)
        {
            if (exclude >= 0 && at >= exclude && at < exclude + 8)
            {
                continue;
            }

            ulong v = width == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(cache[at..]) : BinaryPrimitives.ReadUInt32LittleEndian(cache[at..]);
            if (v == value)
            {
                return at;
            }
        }

        return -1;
    }

    private static string Describe(int offset) => offset < 0 ? "not found" : $"at +{offset}";

    private static CpuEngineUnavailableException Failure(string engine, string what) =>
        new($"Calibrating the CPU engine ({engine}) failed: {what}. Without it, segment registers cannot be loaded with a descriptor's "
            + $"hidden state (protected-mode delivery from ring 1-3, SYSENTER). Use Debian 13's {UcLibrary.DebianPackage} (./build.sh deps) or Unicorn 2.1.1.");

    private static string EngineName() => $"Unicorn {UcLibrary.FormatVersion(UcLibrary.VersionWord)} from {UcLibrary.Source}";
}
