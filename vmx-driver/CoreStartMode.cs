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

    /// <summary>
    /// An application processor of a machine with APICs, in wait-for-SIPI (SDM Vol. 3A 9.4, "Multiple-Processor (MP)
    /// Initialization"): it executes nothing until a start-up IPI with vector V, then starts in real mode at CS
    /// selector V &lt;&lt; 8 (base V &lt;&lt; 12), IP 0, on a 16-bit engine that follows it into protected and long mode. An INIT
    /// puts it back into wait-for-SIPI. <see cref="CoreStart.CodeSegment"/>, <see cref="CoreStart.InstructionPointer"/> and
    /// <see cref="CoreStart.StackPointer"/> are not used.
    /// </summary>
    WaitForStartup,
}
