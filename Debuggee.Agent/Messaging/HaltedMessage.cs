// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Agent.Messaging;

/// <summary>The guest halted: every core stopped. Sent after pending batched output, with the halting core's registers
/// read at the halt (not when the message is sent).</summary>
/// <param name="Core">The core that halted the VM.</param>
/// <param name="Reason">"break-in", "event", "initial-break", "breakpoint", "step" or "kernel-panic".</param>
/// <param name="EventId">The event that broke, if any.</param>
/// <param name="Stage">"pre" or "post" for events.</param>
/// <param name="Port">The port of the exiting instruction, for events.</param>
/// <param name="Rip">RIP of the current instruction.</param>
/// <param name="InstructionBytes">Its bytes.</param>
/// <param name="Disassembly">Its Intel-syntax text.</param>
/// <param name="Registers">The core's registers at the halt, by name.</param>
internal sealed record HaltedMessage(int Core, string Reason, int? EventId, string? Stage, int? Port, ulong Rip, byte[] InstructionBytes, string Disassembly, IReadOnlyDictionary<string, ulong> Registers) : AgentMessage
{
    /// <summary>For "breakpoint": the id of the host's breakpoint (<c>bp</c>) there; null for one set by gdb.</summary>
    public int? BreakpointId { get; init; }

    /// <summary>The VM's number for this halt (<see cref="VmxDriver.VmHaltInfo.Sequence"/>).</summary>
    public ulong HaltId { get; init; }

    /// <summary>For a <c>!monitor</c> halt: the accessed virtual address ($context) and the access.</summary>
    public (ulong Address, string Access)? Monitor { get; init; }

    /// <summary>For a <c>!cpuid</c>/<c>!exception</c>/<c>!interrupt</c>/<c>!syscall</c> halt: the kind and its $context.</summary>
    public (string Kind, ulong Context)? GuestEvent { get; init; }

    /// <summary>For "kernel-panic": what the kernel said (<see cref="VmxDriver.KernelPanicReport"/>).</summary>
    public VmxDriver.KernelPanicReport? Panic { get; init; }
}

/// <summary>The guest runs again (after continue).</summary>
internal sealed record RunningMessage : AgentMessage;

/// <summary>The guest's run ended.</summary>
internal sealed record StoppedMessage(string Reason, int? ExitStatus, string? Report) : AgentMessage;
