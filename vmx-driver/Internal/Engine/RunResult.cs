// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Engine;

/// <summary>How a run of <see cref="IExecutionContext.Run"/> ended; <see cref="Report"/> explains an error.</summary>
internal readonly record struct RunResult(RunOutcome Outcome, string? Report)
{
    /// <summary>The run ended at HLT or on request.</summary>
    public static RunResult Ended => new(RunOutcome.Ended, null);
}
