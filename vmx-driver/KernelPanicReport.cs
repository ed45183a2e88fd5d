// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>The tag of a <see cref="HaltReason.KernelPanic"/> halt: what the kernel said of its panic.</summary>
/// <param name="Message">The panic message as the kernel printed it after <c>Kernel panic - not syncing: </c> (e.g.
/// <c>VFS: Unable to mount root fs on unknown-block(0,0)</c>); when no console line was seen, <c>panic()</c>'s format
/// string read from the guest, or a sentence saying that nothing could be read.</param>
/// <param name="Complete">True when the kernel printed the end of its report (<c>---[ end Kernel panic ... ]---</c>)
/// before the halt; false when the halt came because the time allowed for the report ran out.</param>
public sealed record KernelPanicReport(string Message, bool Complete);
