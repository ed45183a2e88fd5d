// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Sandbox;

/// <summary>The outcome of running a condition or custom code in the sandbox.</summary>
/// <param name="Completed">True when the code returned (RET to the sandbox's return address).</param>
/// <param name="Rax">RAX at return (a condition is true when it is non-zero).</param>
/// <param name="Error">Why it did not complete: a fault (with the address) or the instruction budget.</param>
/// <param name="Instructions">Instructions executed (bounded by the budget).</param>
public sealed record SandboxResult(bool Completed, ulong Rax, string? Error, long Instructions);
