// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Engine;

/// <summary>What a core must drop before it runs guest code again (<see cref="CodeCoherence"/>): its code of the
/// guest-physical pages other cores wrote (whole pages), and its TLB (a page became code).</summary>
internal readonly record struct CodeWork((ulong Begin, ulong End)[] Ranges, bool FlushTlb)
{
    /// <summary>Nothing to do.</summary>
    public static CodeWork None { get; } = new([], false);

    /// <summary>True when there is nothing to do.</summary>
    public bool IsEmpty => Ranges.Length == 0 && !FlushTlb;
}
