// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>The VM halted: every core is stopped until <see cref="VirtualMachine.Resume"/>.</summary>
/// <param name="Core">The core that halted the VM (the one that was running).</param>
/// <param name="Reason">Why.</param>
/// <param name="Exit">For <see cref="HaltReason.Event"/> on an I/O exit: the exit (valid until resume).</param>
/// <param name="Tag">What the halting party attached (e.g. an event id).</param>
public sealed record VmHaltInfo(Vcpu Core, HaltReason Reason, IoExit? Exit, object? Tag)
{
    /// <summary>The VM numbers its halts from 1 upwards, in the order they happen.</summary>
    public long Sequence { get; internal set; }

    /// <summary>The monitored-memory access the VM halted in (<see cref="HaltReason.Event"/>), if any.</summary>
    public MemoryAccessExit? Access { get; init; }

    /// <summary>The CPUID, exception, interrupt or SYSCALL the VM halted in (<see cref="HaltReason.Event"/>), if any.</summary>
    public GuestEventExit? GuestEvent { get; init; }
}
