// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>One I/O instruction found in a translation block: what the VMCS would report about it.</summary>
internal sealed class IoSite
{
    public required ulong Linear { get; init; }

    public required byte[] Bytes { get; init; }

    public required bool IsIn { get; init; }

    public required bool IsString { get; init; }

    public required bool IsRep { get; init; }

    public required bool IsImmediate { get; init; }

    public required int Size { get; init; }

    /// <summary>Address size of a string form: 16, 32 or 64.</summary>
    public required int AddressSize { get; init; }

    /// <summary>Segment of the memory operand (VMX encoding: 0 ES, 1 CS, 2 SS, 3 DS, 4 FS, 5 GS).</summary>
    public required int Segment { get; init; }

    public required int Bitness { get; init; }

    /// <summary>Guest-physical address of the instruction when it was decoded (for cheap revalidation).</summary>
    public ulong Physical { get; set; }
}
