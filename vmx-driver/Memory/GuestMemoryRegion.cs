// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>A mapped range of guest-physical memory backed by host memory.</summary>
/// <param name="Address">Guest-physical start.</param>
/// <param name="Size">Size in bytes.</param>
/// <param name="Writable">False for ROM (the guest cannot write it).</param>
/// <param name="Name">A name for reports.</param>
/// <param name="Host">The host memory.</param>
public sealed record GuestMemoryRegion(ulong Address, ulong Size, bool Writable, string Name, IntPtr Host);
