// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver;

namespace HyperDbgRemote.Agent.Events;

/// <summary>What an event's script or code sees for one trigger.</summary>
internal sealed class EventInvocation
{
    public required RegisteredEvent Event { get; init; }

    /// <summary>The I/O exit (<c>!ioin</c>/<c>!ioout</c>), or null for a memory access.</summary>
    public IoExit? Exit { get; init; }

    /// <summary>The memory access (<c>!monitor</c>), or null for an I/O exit.</summary>
    public MemoryAccessExit? Access { get; init; }

    /// <summary>For <c>!monitor</c>: the accessed virtual address inside the event's range; for a breakpoint's
    /// script: the breakpoint's address.</summary>
    public ulong AccessAddress { get; init; }

    /// <summary>The CPUID, exception, interrupt or SYSCALL (<c>!cpuid</c>, <c>!exception</c>, <c>!interrupt</c>,
    /// <c>!syscall</c>), or null.</summary>
    public GuestEventExit? GuestEvent { get; init; }

    /// <summary>For a breakpoint's script (<c>bp ... script {...}</c>): the core that reached it.</summary>
    public Vcpu? BreakpointCore { get; init; }

    public required EventManager Manager { get; init; }

    /// <summary>The core that exited.</summary>
    public Vcpu Core => Exit?.Core ?? GuestEvent?.Core ?? Access?.Core ?? BreakpointCore!;

    /// <summary>HyperDbg's $context: the port for I/O events, the accessed virtual address for <c>!monitor</c>, the
    /// leaf, vector or system call number for the guest events, the breakpoint's address for a breakpoint's script.</summary>
    public ulong Context => Exit is IoExit io ? io.Port : GuestEvent is GuestEventExit g ? g.Context : AccessAddress;

    /// <summary>0 in the pre stage, 1 in the post stage ($event_stage); memory accesses are pre.</summary>
    public int StageNumber => (Exit is IoExit io && io.Stage == ExitStage.Post) || GuestEvent is { Stage: ExitStage.Post } ? 1 : 0;

    /// <summary>The event's short-circuit decision for this trigger; starts at its <c>sc</c> setting, <c>event_sc</c> changes it.</summary>
    public bool ShortCircuit { get; set; }

    /// <summary>Set by <c>pause()</c>: the VM halts after the event's actions.</summary>
    public bool PauseRequested { get; set; }
}
