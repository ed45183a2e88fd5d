// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Engine;

/// <summary>
/// A segment register with its hidden part (SDM Vol. 3A, "Segment Registers": the descriptor cache the CPU loads with
/// the selector): the selector, the base, the limit in bytes (granularity applied) and the descriptor's attributes in
/// the bits they have in its high doubleword (type 8–11, S 12, DPL 13–14, P 15, AVL 20, L 21, D/B 22, G 23), which is
/// also how QEMU's <c>SegmentCache.flags</c> holds them.
/// </summary>
internal readonly record struct SegmentCache(ushort Selector, ulong Base, uint Limit, uint Flags)
{
    /// <summary>The bits of a descriptor's high doubleword that are attributes (base and limit bits masked out).</summary>
    public const uint AttributeMask = 0x00F0_FF00;

    /// <summary>Type bit 8: accessed.</summary>
    public const uint Accessed = 1u << 8;

    /// <summary>Type bit 9: readable (code) or writable (data).</summary>
    public const uint ReadWrite = 1u << 9;

    /// <summary>Type bit 10: conforming (code) or expand-down (data).</summary>
    public const uint ConformingOrExpandDown = 1u << 10;

    /// <summary>Type bit 11: a code segment.</summary>
    public const uint Code = 1u << 11;

    /// <summary>S: a code or data segment (not a system descriptor).</summary>
    public const uint CodeOrData = 1u << 12;

    /// <summary>P: present.</summary>
    public const uint Present = 1u << 15;

    /// <summary>L: a 64-bit code segment.</summary>
    public const uint Long = 1u << 21;

    /// <summary>D/B: 32-bit default operand size (code), 32-bit stack pointer (stack).</summary>
    public const uint Big = 1u << 22;

    /// <summary>G: the limit counts 4-KiB units.</summary>
    public const uint Granularity = 1u << 23;

    /// <summary>Flat 4-GiB segments as SYSENTER and SYSEXIT load them (SDM Vol. 2B, "SYSENTER"): present, S, G, D/B,
    /// accessed; code executable and readable, data writable.</summary>
    public const uint FlatCode = Present | CodeOrData | Granularity | Big | Code | ReadWrite | Accessed;

    /// <inheritdoc cref="FlatCode"/>
    public const uint FlatData = Present | CodeOrData | Granularity | Big | ReadWrite | Accessed;

    /// <summary>A flat 64-bit code segment as SYSCALL and SYSRETQ load it (SDM Vol. 2B, "SYSCALL": type 11, S, P, L,
    /// D clear, G).</summary>
    public const uint FlatLongCode = Present | CodeOrData | Granularity | Long | Code | ReadWrite | Accessed;

    /// <summary>The descriptor privilege level.</summary>
    public int Dpl => (int)((Flags >> 13) & 3);

    /// <summary>True for a code segment (S set, type bit 11 set).</summary>
    public bool IsCode => (Flags & (CodeOrData | Code)) == (CodeOrData | Code);

    /// <summary>True for a data segment (S set, type bit 11 clear).</summary>
    public bool IsData => (Flags & (CodeOrData | Code)) == CodeOrData;

    /// <summary>A flat 4-GiB segment of <paramref name="dpl"/> (RPL of <paramref name="selector"/> as given).</summary>
    public static SegmentCache Flat(ushort selector, bool code, int dpl) =>
        new(selector, 0, uint.MaxValue, (code ? FlatCode : FlatData) | ((uint)(dpl & 3) << 13));

    /// <summary>A flat 64-bit code segment of <paramref name="dpl"/> (<see cref="FlatLongCode"/>).</summary>
    public static SegmentCache FlatLong(ushort selector, int dpl) =>
        new(selector, 0, uint.MaxValue, FlatLongCode | ((uint)(dpl & 3) << 13));

    /// <summary>The hidden part a load of <paramref name="selector"/> with the 8-byte <paramref name="descriptor"/> gives
    /// (SDM Vol. 3A, "Segment Descriptors"): base 31:0, limit 19:0 (in 4-KiB units with G), attributes.</summary>
    public static SegmentCache FromDescriptor(ushort selector, ulong descriptor)
    {
        ulong segmentBase = ((descriptor >> 16) & 0xFF_FFFF) | (((descriptor >> 56) & 0xFF) << 24);
        uint high = (uint)(descriptor >> 32);
        uint limit = (uint)(descriptor & 0xFFFF) | (high & 0xF_0000);
        if ((high & Granularity) != 0)
        {
            limit = (limit << 12) | 0xFFF;
        }

        return new SegmentCache(selector, segmentBase, limit, high & AttributeMask);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Selector:X4} (base 0x{Base:X}, limit 0x{Limit:X}, flags 0x{Flags:X6})";
}
