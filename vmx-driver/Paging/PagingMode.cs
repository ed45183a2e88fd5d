// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>The paging mode a core is in (SDM Vol. 3A, "Paging Modes and Control Bits").</summary>
public enum PagingMode
{
    /// <summary>CR0.PG = 0: linear addresses are physical.</summary>
    None,

    /// <summary>32-bit paging: CR0.PG = 1, CR4.PAE = 0; 4 KiB pages and, with CR4.PSE, 4 MiB pages.</summary>
    ThirtyTwoBit,

    /// <summary>PAE paging: CR4.PAE = 1, EFER.LMA = 0; 4 KiB and 2 MiB pages.</summary>
    Pae,

    /// <summary>4-level paging: EFER.LMA = 1; 4 KiB, 2 MiB and 1 GiB pages.</summary>
    FourLevel,
}
