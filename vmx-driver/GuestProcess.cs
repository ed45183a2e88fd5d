// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>A guest process and thread as an OS profile sees them.</summary>
public readonly record struct GuestProcess(uint ProcessId, uint ThreadId, string Name);
