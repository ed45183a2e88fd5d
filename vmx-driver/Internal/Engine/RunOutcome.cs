// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Engine;

/// <summary>Why <see cref="IExecutionContext.Run"/> returned.</summary>
internal enum RunOutcome
{
    /// <summary>HLT (RIP after it) or a stop request.</summary>
    Ended,

    /// <summary>The engine met an instruction it cannot execute; RIP is at it.</summary>
    InvalidInstruction,

    /// <summary>Any other engine error (unmapped guest-physical memory, ...); the result's report names it.</summary>
    Error,
}
