// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>Why the VM halted.</summary>
public enum HaltReason
{
    /// <summary>A pause was requested from outside while the guest ran (break-in).</summary>
    BreakIn,

    /// <summary>An exit handler halted the VM (a break event, a script's pause()).</summary>
    Event,

    /// <summary>The VM was started with an initial break: every core halted before its first instruction.</summary>
    InitialBreak,
}
