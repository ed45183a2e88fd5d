// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>The descriptor-table registers (HyperDbg's <c>@gdtr</c>, <c>@idtr</c>, <c>@ldtr</c>, <c>@tr</c>).</summary>
public enum DescriptorTableRegister
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
