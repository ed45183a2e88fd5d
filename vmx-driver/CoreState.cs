// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>What a core is doing.</summary>
public enum CoreState
{
    /// <summary>Created, not started.</summary>
    NotStarted,

    /// <summary>Executing guest code (or waiting for its turn on the shared runner).</summary>
    Running,

    /// <summary>Executed HLT and waits for an interrupt.</summary>
    Idle,

    /// <summary>An application processor in wait-for-SIPI (after power-on or INIT): it runs once a start-up IPI comes.</summary>
    WaitingForStartup,

    /// <summary>Ended (the VM stopped).</summary>
    Stopped,
}
