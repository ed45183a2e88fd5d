// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>
/// The guest events other than I/O and memory accesses that the VM reports to <see cref="IVmExitHandler.OnGuestEvent"/>
/// while <see cref="VirtualMachine.TrappedGuestEvents"/> asks for them (HyperDbg's <c>!cpuid</c>, <c>!exception</c>,
/// <c>!interrupt</c>, <c>!syscall</c>, <c>!sysret</c>, and the instruction events <c>!msrread</c>, <c>!msrwrite</c>,
/// <c>!crwrite</c>, <c>!dr</c>, <c>!tsc</c>, <c>!pmc</c>, which the VM finds by the engine's instruction intercepts, and
/// <c>!mode</c>, which it finds by calling back every instruction while it is trapped, see <see cref="InstructionEvents"/>).
/// </summary>
[Flags]
public enum GuestEventKinds
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>CPUID executed (VMX exit reason 10); the context is EAX, the leaf.</summary>
    Cpuid = 1,

    /// <summary>An exception (vectors 0 to 31, INT3 and INTO included, INT n not) about to be delivered through the IDT
    /// or IVT (reason 0, the exception bitmap); the context is the vector.</summary>
    Exception = 2,

    /// <summary>An external interrupt the interrupt controller answered to INTA, about to be delivered (reason 1,
    /// external-interrupt exiting); the context is the vector.</summary>
    Interrupt = 4,

    /// <summary>SYSCALL executed in 64-bit or compatibility mode (HyperDbg's EFER hook); the context is RAX, the system
    /// call number.</summary>
    Syscall = 8,

    /// <summary>SYSRET executed (HyperDbg's EFER hook: while this kind is trapped, the engine's EFER.SCE is clear so that
    /// SYSRET raises #UD, and the VM performs it; the guest still reads and writes its own EFER); the context is RIP, the
    /// address of the SYSRET, as HyperDbg passes it.</summary>
    Sysret = 16,

    /// <summary>RDMSR about to execute at CPL 0 (exit reason 31); the context is ECX, the MSR's index. The VM performs it
    /// after the pre stage (EDX:EAX get the MSR's value), unless the pre stage skips it.</summary>
    MsrRead = 32,

    /// <summary>WRMSR about to execute at CPL 0 (exit reason 32); the context is ECX, the MSR's index; the value is in
    /// EDX:EAX. The VM performs it after the pre stage, unless the pre stage skips it.</summary>
    MsrWrite = 64,

    /// <summary>MOV to CR0 or CR4 at CPL 0 (exit reason 28, access type 0); the context is the control register's
    /// number, as HyperDbg passes the exit qualification's register field; <see cref="GuestEventExit.NewValue"/> and
    /// <see cref="GuestEventExit.OldValue"/> are the value written and the register's value before.</summary>
    CrWrite = 128,

    /// <summary>MOV to or from DR0 to DR7 at CPL 0 (exit reason 29); the context is 0, as HyperDbg passes none;
    /// <see cref="GuestEventExit.NewValue"/> is the value a MOV to DRn writes.</summary>
    DebugRegister = 256,

    /// <summary>RDTSC or RDTSCP (exit reasons 16 and 51); the context is 0 for RDTSC and 1 for RDTSCP, as HyperDbg
    /// passes it.</summary>
    Tsc = 512,

    /// <summary>RDPMC (exit reason 15); the context is 0, as HyperDbg passes none.</summary>
    Pmc = 1024,

    /// <summary>The first instruction a core executes in user mode (CPL 3) after kernel mode, or in kernel mode (CPL 0
    /// to 2) after user mode (HyperDbg's execution trap); the context is the mode entered, as HyperDbg passes it: 3
    /// for user mode, 0 for kernel mode.</summary>
    Mode = 2048,

    /// <summary>HyperDbg's instruction events: all but <see cref="Mode"/> on the instruction intercepts, <see cref="Mode"/>
    /// by calling back every instruction while it is trapped.</summary>
    InstructionEvents = MsrRead | MsrWrite | CrWrite | DebugRegister | Tsc | Pmc | Mode,
}
