// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>The accesses a memory monitor traps (HyperDbg's <c>!monitor</c> attributes r, w, x).</summary>
[Flags]
public enum MemoryAccessKinds
{
    None = 0,

    /// <summary>A data read.</summary>
    Read = 1,

    /// <summary>A data write.</summary>
    Write = 2,

    /// <summary>The execution of an instruction that starts in the range.</summary>
    Execute = 4,
}
