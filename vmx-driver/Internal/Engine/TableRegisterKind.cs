// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Engine;

/// <summary>The system table registers.</summary>
internal enum TableRegisterKind
{
    /// <summary>The global descriptor table register.</summary>
    Gdtr,

    /// <summary>The interrupt descriptor table register.</summary>
    Idtr,

    /// <summary>The local descriptor table register.</summary>
    Ldtr,

    /// <summary>The task register.</summary>
    Tr,
}
