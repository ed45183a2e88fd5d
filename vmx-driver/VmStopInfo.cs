// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>How a VM run ended.</summary>
/// <param name="Reason">Why.</param>
/// <param name="ExitStatus">For <see cref="VmStopReason.DebugExit"/>: the status the guest wrote.</param>
/// <param name="Report">For <see cref="VmStopReason.Fault"/>: what happened, naming the core, RIP and cause.</param>
public sealed record VmStopInfo(VmStopReason Reason, int? ExitStatus = null, string? Report = null);
