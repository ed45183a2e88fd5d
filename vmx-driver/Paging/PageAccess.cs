// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>The kind of a memory access, as paging checks it.</summary>
public enum PageAccess
{
    /// <summary>A data read.</summary>
    Read,

    /// <summary>A data write.</summary>
    Write,

    /// <summary>An instruction fetch.</summary>
    Execute,
}
