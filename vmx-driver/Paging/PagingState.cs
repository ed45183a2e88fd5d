// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>The control registers paging depends on, read from a core at one instant.</summary>
public readonly record struct PagingState(ulong Cr0, ulong Cr3, ulong Cr4, ulong Efer)
{
    internal const ulong Cr0Pg = 1UL << 31;
    internal const ulong Cr0Wp = 1UL << 16;
    internal const ulong Cr4Pse = 1UL << 4;
    internal const ulong Cr4Pae = 1UL << 5;
    internal const ulong Cr4Smep = 1UL << 20;
    internal const ulong Cr4Smap = 1UL << 21;
    internal const ulong EferNxe = 1UL << 11;
    internal const ulong EferLma = 1UL << 10;

    /// <summary>The paging mode these registers select.</summary>
    public PagingMode Mode =>
        (Cr0 & Cr0Pg) == 0 ? PagingMode.None
        : (Efer & EferLma) != 0 ? PagingMode.FourLevel
        : (Cr4 & Cr4Pae) != 0 ? PagingMode.Pae
        : PagingMode.ThirtyTwoBit;
}
