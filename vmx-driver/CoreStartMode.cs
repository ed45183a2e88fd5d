// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>How a core starts.</summary>
public enum CoreStartMode
{
    /// <summary>Real mode (16-bit engine that follows the guest into protected mode): BIOS images, boot sectors, flat 16-bit images.</summary>
    Real,

    /// <summary>64-bit long mode with identity-mapped paging set up by the loader.</summary>
    Long64,
}
