// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// Segments of a core (SDM Vol. 3A, "Segment Descriptors"): bases and the code size from the segment registers' hidden
/// parts (selector × 16 in real mode, the loaded descriptor's base in protected and compatibility mode, 0 in 64-bit mode
/// except FS and GS, their base MSRs), and the one reader of descriptors from the GDT or LDT, whose bases are linear addresses.
/// </summary>
internal static class Segmentation
{
    /// <summary>Size of a segment descriptor.</summary>
    public const int DescriptorSize = 8;

    private const ulong Cr0Pe = 1;
    private const ushort TableIndicator = 4;

    /// <summary>What <see cref="ReadDescriptor"/> found.</summary>
    internal enum Lookup
    {
        /// <summary>The descriptor was read.</summary>
        Found,

        /// <summary>A null selector (index 0 in the GDT).</summary>
        Null,

        /// <summary>The selector's descriptor lies beyond the GDT's or LDT's limit (or the LDT is null).</summary>
        BeyondLimit,

        /// <summary>The descriptor's linear address does not translate to guest memory.</summary>
        Unmapped,
    }

    /// <summary>
    /// The base of a segment register (SDM Vol. 3A, "Segmentation in IA-32e Mode"): in 64-bit mode 0 for CS, DS, ES and
    /// SS and the base MSRs for FS and GS; in compatibility mode (long mode, CS.L clear), as in protected mode, the
    /// loaded descriptors' bases; selector × 16 in real mode.
    /// </summary>
    public static ulong Base(IExecutionContext context, bool is64Bit, GuestRegister segment)
    {
        if (is64Bit && !IsCompatibilityMode(context, is64Bit))
        {
            return segment switch
            {
                GuestRegister.Fs => context.ReadRegister(GuestRegister.FsBase),
                GuestRegister.Gs => context.ReadRegister(GuestRegister.GsBase),
                _ => 0,
            };
        }

        if (!is64Bit && (context.ReadRegister(GuestRegister.Cr0) & Cr0Pe) == 0)
        {
            return (context.ReadRegister(segment) & 0xFFFF) << 4;
        }

        return context.ReadSegment(segment).Base;
    }

    /// <summary>
    /// The code size of the current instruction (SDM Vol. 3A, "IA-32e Mode"): 64 in 64-bit mode; in compatibility mode
    /// (long mode, CS.L clear) and in protected mode 32 or 16 as the loaded code segment's D says; 16 in real mode. This
    /// is what a decoder of the guest's code needs (the disassembler, stepping, the decoders of I/O sites and faulting
    /// instructions); the debugger's register layout follows long mode instead (<see cref="Vcpu.Is64Bit"/>).
    /// </summary>
    public static int CodeBitness(IExecutionContext context, bool is64Bit)
    {
        if (is64Bit)
        {
            SegmentCache cs = context.ReadSegment(GuestRegister.Cs);
            if (!IsCompatibilityMode(cs))
            {
                return 64;
            }

            return (cs.Flags & SegmentCache.Big) != 0 ? 32 : 16;
        }

        if ((context.ReadRegister(GuestRegister.Cr0) & Cr0Pe) == 0)
        {
            return 16;
        }

        return (context.ReadSegment(GuestRegister.Cs).Flags & SegmentCache.Big) != 0 ? 32 : 16;
    }

    /// <summary>
    /// True in compatibility mode: long mode (<paramref name="is64Bit"/>) with a present code segment in CS whose L is
    /// clear. A 64-bit engine starts with an empty CS hidden part (all attributes clear) while it executes 64-bit code,
    /// so only a loaded, present code segment without L counts; every far transfer the engine or the model performs
    /// loads the whole hidden part. <see cref="CodeBitness"/> is then 32 or 16 (CS.D).
    /// </summary>
    public static bool IsCompatibilityMode(IExecutionContext context, bool is64Bit) =>
        is64Bit && IsCompatibilityMode(context.ReadSegment(GuestRegister.Cs));

    /// <summary>A long-mode CS hidden part <paramref name="cs"/> that is a present code segment without L.</summary>
    private static bool IsCompatibilityMode(SegmentCache cs) =>
        cs.IsCode && (cs.Flags & SegmentCache.Present) != 0 && (cs.Flags & SegmentCache.Long) == 0;

    /// <summary>
    /// Reads the descriptor <paramref name="selector"/> names from the GDT or (TI set) the LDT of <paramref name="core"/>:
    /// the table's base is linear, so the read goes through the core's paging. Index 0 of the GDT is the null selector;
    /// a descriptor whose last byte is beyond the table's limit, or an LDT selector while LDTR is null, is beyond it.
    /// </summary>
    public static Lookup ReadDescriptor(Vcpu core, ushort selector, out ulong descriptor)
    {
        descriptor = 0;
        bool local = (selector & TableIndicator) != 0;
        if (!local && (selector & 0xFFF8) == 0)
        {
            return Lookup.Null;
        }

        TableRegister table = core.Context.ReadTableRegister(local ? TableRegisterKind.Ldtr : TableRegisterKind.Gdtr);
        ulong offset = (ulong)(selector & 0xFFF8);
        if ((local && (table.Selector & 0xFFFC) == 0) || offset + DescriptorSize - 1 > table.Limit)
        {
            return Lookup.BeyondLimit;
        }

        Span<byte> bytes = stackalloc byte[DescriptorSize];
        if (core.ReadVirtual(table.Base + offset, bytes) != DescriptorSize)
        {
            return Lookup.Unmapped;
        }

        descriptor = BitConverter.ToUInt64(bytes);
        return Lookup.Found;
    }

    /// <summary><see cref="ReadDescriptor"/>, true when found.</summary>
    public static bool TryReadDescriptor(Vcpu core, ushort selector, out ulong descriptor) =>
        ReadDescriptor(core, selector, out descriptor) == Lookup.Found;
}
