// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>When an exit callback runs: before the instruction is emulated or after.</summary>
public enum ExitStage
{
    /// <summary>Before emulation: registers and memory may be changed, and the instruction may be skipped.</summary>
    Pre,

    /// <summary>After emulation: the result is visible (for IN in AL/AX/EAX or at ES:[RDI]).</summary>
    Post,
}
