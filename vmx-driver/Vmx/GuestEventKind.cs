// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>
/// The guest events other than I/O and memory accesses that the VM reports to <see cref="IVmExitHandler.OnGuestEvent"/>
/// while <see cref="VirtualMachine.TrappedGuestEvents"/> asks for them (HyperDbg's <c>!cpuid</c>, <c>!exception</c>,
/// <c>!interrupt</c>, <c>!syscall</c> and <c>!sysret</c>).
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
}
