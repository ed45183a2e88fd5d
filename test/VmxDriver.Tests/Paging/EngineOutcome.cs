// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Tests.Paging;

/// <summary>What the engine did with one access: a fault (vector, CR2, its error code), an engine error (uc_err in
/// <see cref="Vector"/>), or done (RAX after a read, RIP after a fetch).</summary>
internal readonly record struct EngineOutcome(EngineOutcomeKind Kind, int Vector, ulong Cr2, uint ErrorCode, ulong Value);
