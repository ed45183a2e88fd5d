// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>
/// A CPUID, exception, external interrupt or SYSCALL given to <see cref="IVmExitHandler.OnGuestEvent"/>: in the pre stage
/// before the VM emulates or delivers it (the handler may change registers, skip it, ask for the post stage), in the
/// post stage after. One object per trigger; do not keep it past the callback.
/// </summary>
/// <remarks>
/// What each stage sees: CPUID: RIP at the instruction in both stages; the pre stage has the leaf in EAX, the post stage
/// the results. Exception: RIP at the faulting instruction (after INT3/INTO) before delivery, at the handler after.
/// Interrupt: RIP at the interrupted instruction before delivery, at the handler after. SYSCALL: RIP at the instruction
/// before, at LSTAR's handler after. Skipping (short-circuit, HyperDbg's <c>sc on</c>): CPUID leaves EAX, EBX, ECX and
/// EDX as they are and continues after the instruction; an exception or interrupt is not delivered (a fault then runs
/// its instruction again; an interrupt was already acknowledged at the controller and is lost); SYSCALL does nothing
/// and continues after the instruction.
/// </remarks>
public sealed class GuestEventExit
{
    internal GuestEventExit(Vcpu core, GuestEventKinds kind, ulong context, ulong rip, uint? errorCode = null)
    {
        Core = core;
        Kind = kind;
        Context = context;
        Rip = rip;
        ErrorCode = errorCode;
    }

    /// <summary>The core (stopped at the event while the handler runs).</summary>
    public Vcpu Core { get; }

    /// <summary>One of <see cref="GuestEventKinds"/>' values.</summary>
    public GuestEventKinds Kind { get; }

    /// <summary>HyperDbg's $context: the leaf (EAX) for CPUID, the vector for exceptions and interrupts, RAX for
    /// SYSCALL, as they were when the event happened.</summary>
    public ulong Context { get; }

    /// <summary>RIP when the event happened (see the remarks).</summary>
    public ulong Rip { get; }

    /// <summary>For an exception that pushes one: its error code.</summary>
    public uint? ErrorCode { get; }

    /// <summary>The stage of the current callback.</summary>
    public ExitStage Stage { get; internal set; }

    /// <summary>Set in the pre stage to skip the emulation or delivery (short-circuit; see the remarks).</summary>
    public bool SkipInstruction { get; set; }

    /// <summary>Set in the pre stage to be called again in the post stage.</summary>
    public bool PostStageRequested { get; set; }

    /// <summary>A short name of the kind: cpuid, exception, interrupt or syscall.</summary>
    public string KindName => Kind switch
    {
        GuestEventKinds.Cpuid => "cpuid",
        GuestEventKinds.Exception => "exception",
        GuestEventKinds.Interrupt => "interrupt",
        GuestEventKinds.Syscall => "syscall",
        _ => "sysret",
    };
}
