// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>
/// Receives VM exits. Called on the exiting core's own thread while that core is stopped at the exiting instruction;
/// the handler may read and write any register and guest memory, halt the VM (<see cref="VirtualMachine.Halt(Vcpu, HaltReason, IoExit?, object?)"/>) and,
/// in the pre stage, skip the instruction. Handlers must not throw: an exception stops the VM with a fault report.
/// </summary>
public interface IVmExitHandler
{
    /// <summary>An I/O-instruction exit (reason 30), in the pre stage and, if requested, again in the post stage.</summary>
    void OnIoExit(IoExit ioExit);

    /// <summary>An access to monitored memory (<see cref="VirtualMachine.AddMemoryMonitor"/>), before it takes effect.
    /// The handler may halt the VM with <see cref="VirtualMachine.Halt(Vcpu, MemoryAccessExit, object?)"/>.</summary>
    void OnMemoryAccess(MemoryAccessExit access)
    {
    }

    /// <summary>A CPUID, exception, external interrupt or SYSCALL of a kind <see cref="VirtualMachine.TrappedGuestEvents"/>
    /// asks for, in the pre stage and, if requested, again in the post stage. The handler may halt the VM with
    /// <see cref="VirtualMachine.Halt(Vcpu, GuestEventExit, object?)"/>.</summary>
    void OnGuestEvent(GuestEventExit guestEvent)
    {
    }
}
