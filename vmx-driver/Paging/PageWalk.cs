// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>
/// The translation of one linear address as the CPU does it, with every paging-structure entry the walk used (top
/// level first): the physical address and page size when it maps, or the page fault an access would raise.
/// </summary>
public sealed record PageWalk
{
    /// <summary>The linear address translated.</summary>
    public required ulong Linear { get; init; }

    /// <summary>The paging mode of the walk.</summary>
    public required PagingMode Mode { get; init; }

    /// <summary>The entries read, top level first (empty without paging).</summary>
    public required IReadOnlyList<PageTableEntry> Entries { get; init; }

    /// <summary>The physical address, when the address maps to a page.</summary>
    public ulong? Physical { get; init; }

    /// <summary>The size of the page that maps the address (4 KiB, 2 MiB, 4 MiB or 1 GiB), or 0.</summary>
    public ulong PageSize { get; init; }

    /// <summary>The error code of the page fault the access raises, or null when it is allowed.</summary>
    public PageFaultErrorCode? Fault { get; init; }

    /// <summary>True when the address is not canonical (4-level paging): the access raises #GP, not #PF.</summary>
    public bool IsNonCanonical { get; init; }

    /// <summary>Effective rights over the whole walk: writable by the given privilege.</summary>
    public bool IsWritable { get; init; }

    /// <summary>Effective rights over the whole walk: every level allows user-mode access.</summary>
    public bool IsUser { get; init; }

    /// <summary>Effective rights over the whole walk: instruction fetches are allowed.</summary>
    public bool IsExecutable { get; init; }
}
