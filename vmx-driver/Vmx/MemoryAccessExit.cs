// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>
/// A trapped access to monitored memory (<see cref="MemoryMonitor"/>), given to
/// <see cref="IVmExitHandler.OnMemoryAccess"/> before the access takes effect: a write has not reached memory yet, a
/// read has not loaded its value, an instruction has not executed; RIP is the accessing instruction.
/// </summary>
public sealed class MemoryAccessExit
{
    internal MemoryAccessExit(Vcpu core, MemoryAccessKinds kind, ulong rip, ulong physical, int size, ulong value, IReadOnlyList<(MemoryMonitor Monitor, ulong Address)> matches)
    {
        Core = core;
        Kind = kind;
        Rip = rip;
        PhysicalAddress = physical;
        Size = size;
        Value = value;
        Matches = matches;
    }

    /// <summary>The accessing core (halted inside the access while the handler runs).</summary>
    public Vcpu Core { get; }

    /// <summary>Read, Write or Execute (one of them).</summary>
    public MemoryAccessKinds Kind { get; }

    /// <summary>The accessing instruction's RIP.</summary>
    public ulong Rip { get; }

    /// <summary>The access's guest-physical address (for Execute: the instruction's linear address).</summary>
    public ulong PhysicalAddress { get; }

    /// <summary>Bytes accessed (1 for Execute).</summary>
    public int Size { get; }

    /// <summary>For a write: the value about to be written; otherwise 0.</summary>
    public ulong Value { get; }

    /// <summary>Each monitor the access hit, with the linear address inside that monitor's range ($context).</summary>
    public IReadOnlyList<(MemoryMonitor Monitor, ulong Address)> Matches { get; }

    /// <summary>Set when the handler halted the VM on this access.</summary>
    internal bool Halted { get; set; }
}
