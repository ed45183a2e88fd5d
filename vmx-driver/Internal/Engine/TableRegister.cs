// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Engine;

/// <summary>GDTR, IDTR, LDTR or TR: the base and limit (and, for LDTR and TR, the selector and access flags).</summary>
internal readonly record struct TableRegister(ulong Base, uint Limit, ushort Selector = 0, uint Flags = 0);
