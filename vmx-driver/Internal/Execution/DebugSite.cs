// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>Where a core's thread is when it halts or resumes, which decides whether its engine may restart the block.</summary>
internal enum DebugSite
{
    /// <summary>Inside an instruction (an I/O exit): the rest of the block runs as translated.</summary>
    InsideInstruction,

    /// <summary>In the block-boundary callback, before the block's first instruction.</summary>
    BlockBoundary,

    /// <summary>In an instruction callback, before that instruction.</summary>
    Instruction,

    /// <summary>Outside the engine, before a run.</summary>
    BeforeRun,
}
