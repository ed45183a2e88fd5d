// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Engine;

/// <summary>
/// The traps of one core, from its <see cref="IExecutionContext"/> to the VMX model, called on the core's thread while
/// the engine runs. The model implements this once per core and hands it to the engine when the context is opened;
/// nothing else can change where traps go. I/O instructions, the hottest trap, go to the model's
/// <see cref="Execution.IoInstructions"/> instead, a sealed class given to the engine with these callbacks.
/// </summary>
/// <remarks>Implementations may throw; the context catches at its boundary (nothing unwinds into the engine) and
/// reports it through <see cref="OnCallbackFailed"/>.</remarks>
internal interface IExecutionCallbacks
{
    /// <summary>At a block boundary, when attention was raised or the time slice ended, before the block at the
    /// linear <paramref name="address"/> runs. Writing RIP here makes the engine continue there instead.</summary>
    void OnBlockBoundary(ulong address);

    /// <summary>Before the instruction at the linear <paramref name="address"/> executes, where
    /// <see cref="IExecutionContext.SetInstructionHooks"/> asked for it (RIP is exact). Writing RIP here makes the
    /// engine continue there instead, before the instruction executes.</summary>
    void OnInstruction(ulong address);

    /// <summary>Before a read or write of <paramref name="size"/> bytes at the guest-physical <paramref name="address"/>
    /// on a page <see cref="IExecutionContext.SetMonitorHooks"/> asked for (RIP is exact; a write's
    /// <paramref name="value"/> has not reached memory yet).</summary>
    void OnMemoryAccess(MemoryAccessKinds kind, ulong address, int size, ulong value);

    /// <summary>The engine raised an exception or executed INT n / INT3 / INTO, which the model must deliver; RIP is at
    /// the faulting instruction (faults) or after it (traps, software interrupts).</summary>
    void OnException(int vector);

    /// <summary>The guest is about to execute an instruction <see cref="IExecutionContext.SetIntercepts"/> intercepts; RIP is at
    /// it and it has not run. The model performs it (or raises the fault it raises) and leaves RIP where execution
    /// continues.</summary>
    void OnIntercept(InterceptExit exit);

    /// <summary>The guest executed SYSCALL or SYSENTER, which the engine leaves to the model: on entry RIP is at the
    /// instruction and <paramref name="length"/> is its length; the model performs it (or delivers the fault it raises)
    /// and leaves RIP where execution continues.</summary>
    void OnSystemInstruction(SystemInstruction instruction, int length);

    /// <summary>The guest executed CPUID with <paramref name="leaf"/> in EAX and <paramref name="subleaf"/> in ECX; the
    /// result goes to EAX, EBX, ECX and EDX instead of the engine's own; null when the model has already set the registers
    /// (or, short-circuited by an event, leaves them as they are).</summary>
    CpuidResult? OnCpuid(uint leaf, uint subleaf);

    /// <summary>A callback threw: <paramref name="what"/> names the trap. The context already stopped nothing; the model
    /// decides (it records a fault and stops the run).</summary>
    void OnCallbackFailed(string what, Exception exception);
}
