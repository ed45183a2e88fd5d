// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>
/// A CPUID, exception, external interrupt, SYSCALL, SYSRET or instruction event given to <see cref="IVmExitHandler.OnGuestEvent"/>: in the pre stage
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
/// and continues after the instruction. Instruction events (RDMSR, WRMSR, MOV to CR0/CR4, MOV to or from DRn, RDTSC,
/// RDTSCP, RDPMC): RIP at the instruction before, after it in the post stage (the VM performs the instruction in
/// between, as a VMM emulates it in its exit handler); skipping continues after the instruction with nothing done
/// (RDMSR, RDTSC and RDPMC leave EDX:EAX as they are). A mode change: RIP at the first instruction in the new mode;
/// skipping it keeps the core there (HyperDbg blocks the thread): the event fires again when it retries.
/// </remarks>
public sealed class GuestEventExit
{
    internal GuestEventExit(Vcpu core, GuestEventKinds kind, ulong context, ulong rip, uint? errorCode = null, ulong? newValue = null, ulong? oldValue = null)
    {
        NewValue = newValue;
        OldValue = oldValue;
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

    /// <summary>For a MOV to a control or debug register: the value written (HyperDbg's scripts read it from the
    /// source register; this is the same value, taken before the pre stage).</summary>
    public ulong? NewValue { get; }

    /// <summary>For a MOV to a control register: the register's value before the write (the read shadow VT-x compares
    /// the written value with, under the guest/host mask).</summary>
    public ulong? OldValue { get; }

    /// <summary>The stage of the current callback.</summary>
    public ExitStage Stage { get; internal set; }

    /// <summary>Set in the pre stage to skip the emulation or delivery (short-circuit; see the remarks).</summary>
    public bool SkipInstruction { get; set; }

    /// <summary>Set in the pre stage to be called again in the post stage.</summary>
    public bool PostStageRequested { get; set; }

    /// <summary>A short name of the kind: cpuid, exception, interrupt, syscall, sysret, rdmsr, wrmsr, mov to cr, mov dr,
    /// rdtsc, rdpmc or mode change.</summary>
    public string KindName => Kind switch
    {
        GuestEventKinds.Cpuid => "cpuid",
        GuestEventKinds.Exception => "exception",
        GuestEventKinds.Interrupt => "interrupt",
        GuestEventKinds.Syscall => "syscall",
        GuestEventKinds.Sysret => "sysret",
        GuestEventKinds.MsrRead => "rdmsr",
        GuestEventKinds.MsrWrite => "wrmsr",
        GuestEventKinds.CrWrite => "mov to cr",
        GuestEventKinds.DebugRegister => "mov dr",
        GuestEventKinds.Tsc => "rdtsc",
        GuestEventKinds.Pmc => "rdpmc",
        _ => "mode change",
    };
}
