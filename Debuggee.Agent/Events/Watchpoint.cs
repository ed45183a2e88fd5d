// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver;

namespace HyperDbgRemote.Agent.Events;

/// <summary>
/// A watchpoint of a gdb client (Z2 write, Z3 read, Z4 access), on <c>!monitor</c>'s mechanism: the owner of its
/// <see cref="MemoryMonitor"/>. The event manager halts the VM on it with the watchpoint as the halt's tag, after the
/// events on the same access (an event that breaks names the halt instead).
/// </summary>
internal sealed record Watchpoint(ulong Address, ulong Length, MemoryAccessKinds Kind);
