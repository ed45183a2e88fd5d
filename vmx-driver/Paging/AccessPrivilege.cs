// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>Who makes an access, as paging checks it (SDM Vol. 3A, "Access Rights").</summary>
public enum AccessPrivilege
{
    /// <summary>A supervisor-mode access not subject to SMAP (CPL &lt; 3 with CR4.SMAP clear or EFLAGS.AC set; a debugger).</summary>
    Supervisor,

    /// <summary>A supervisor-mode data access subject to SMAP: user pages are neither readable nor writable (CR4.SMAP
    /// set and EFLAGS.AC clear, or an implicit supervisor access such as a delivery's stack push from CPL 3).</summary>
    SupervisorSmap,

    /// <summary>A user-mode access (CPL 3).</summary>
    User,
}
