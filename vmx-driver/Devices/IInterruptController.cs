// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// The CPU's side of an interrupt controller: its INTR output and the interrupt-acknowledge cycle. The CPU checks
/// <see cref="HasPendingInterrupt"/> at an instruction boundary where RFLAGS.IF is set and no STI/MOV SS shadow is in
/// effect, and then calls <see cref="AcknowledgeInterrupt"/> for the vector to deliver through the IDT/IVT. A core in
/// HLT sleeps until <see cref="InterruptRequested"/> (or an event of its own) wakes it.
/// </summary>
public interface IInterruptController
{
    /// <summary>True while INTR is asserted. Cheap (no locks): safe to read at every block boundary.</summary>
    bool HasPendingInterrupt { get; }

    /// <summary>The INTA cycle: takes the highest-priority request and returns its vector (0–255). With no request
    /// left (it went away since INTR was seen) the controller answers a spurious vector, as real hardware does.</summary>
    int AcknowledgeInterrupt();

    /// <summary>Raised, on the thread that caused it, each time INTR goes from low to high. Handlers must not block
    /// and must not call back into devices; they wake a sleeping core.</summary>
    event EventHandler? InterruptRequested;
}
