// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.CompilerServices;

namespace HyperDbgRemote.VmxDriver.Internal.Engine;

/// <summary>
/// Where the I/O instruction being executed is: the <see cref="Index"/>-th I/O instruction (0 = the first) of the
/// code that starts at the linear address <see cref="Start"/> and spans <see cref="Length"/> bytes. An engine that
/// reports a stale RIP in its I/O hooks (Unicorn before 2.1.4) gives its current translation block and a count; one
/// that knows the RIP gives it with index 0.
/// </summary>
internal readonly struct IoLocation
{
    /// <remarks>Built on every I/O exit: always inlined.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public IoLocation(ulong start, uint length, uint index)
    {
        Start = start;
        Length = length;
        Index = index;
    }

    public ulong Start { get; }

    public uint Length { get; }

    public uint Index { get; }
}
