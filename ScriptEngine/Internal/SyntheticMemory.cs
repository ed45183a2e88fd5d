// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

/// <summary>
/// Addresses the engine serves itself: globals (<c>&amp;.lock</c>), the run's locals (<c>&amp;x</c>), string literals
/// and the <c>$time</c>/<c>$date</c> strings. They sit in a non-canonical x64 range (bits 63:48 = 0x5C5E), which no
/// guest virtual address can use, so they never hide guest memory. Every memory function, <c>%s</c> and the
/// interlocked functions accept them; they mean nothing to the physical-memory functions.
/// </summary>
internal static class SyntheticMemory
{
    public const ulong Tag = 0x5C5E;
    public const int TagShift = 48;
    public const ulong Base = Tag << TagShift;
    public const ulong RegionSize = 0x1_0000_0000;
    public const ulong GlobalsBase = Base;
    public const ulong StackBase = Base + RegionSize;
    public const ulong ConstantsBase = Base + (2 * RegionSize);
    public const ulong ScratchBase = Base + (3 * RegionSize);

    /// <summary>Bytes for the run's <c>$time</c>/<c>$date</c> strings.</summary>
    public const int ScratchSize = 256;

    public static bool IsSynthetic(ulong address) => address >> TagShift == Tag;
}
