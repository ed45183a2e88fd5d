// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Engine;

/// <summary>
/// One core's CPU in a CPU engine: its registers, its view of guest-physical memory, running and stopping, and the
/// engine-specific facts the VMX model needs (where the current I/O instruction is, the engine's exception record).
/// The VMX model (<see cref="Vcpu"/> and <c>Internal/Execution</c>) sits on top and never sees the engine itself; traps
/// come back through the <see cref="IExecutionCallbacks"/> given when the context was opened.
/// </summary>
/// <remarks>
/// Threading: <see cref="Run"/> executes on the core's thread and calls the callbacks there. Everything else may be
/// called from a callback on that thread, or from another thread while the core waits inside a callback (halted) or
/// before it runs. <see cref="RaiseAttention"/> and <see cref="Stop"/> may be called from any thread at any time.
/// </remarks>
internal interface IExecutionContext : IDisposable
{
    /// <summary>True when the context has 64-bit registers: a long-mode engine, or a 16-bit one whose CPU is in long
    /// mode now (EFER.LMA); false otherwise.</summary>
    bool Is64Bit { get; }

    /// <summary>Reads a register at its architectural width. Registers the context lacks (R8 in a 16/32-bit engine)
    /// read 0; never throws for a <see cref="GuestRegister"/> value.</summary>
    ulong ReadRegister(GuestRegister register);

    /// <summary>Writes a register.</summary>
    /// <exception cref="InvalidOperationException">The register does not exist in this context, the value does not fit
    /// it, or the engine cannot hold it (the message says why).</exception>
    void WriteRegister(GuestRegister register, ulong value);

    /// <summary>
    /// Sets the current privilege level, as the CPU does when the model performs a privilege change itself (delivery
    /// through an IDT gate to an inner ring, SYSCALL): the engine changes the CPL on IRETQ, SYSRETQ and SYSEXIT, but
    /// never when CS or SS is written. Segment registers are written separately (<see cref="WriteRegister"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="cpl"/> is not 0–3.</exception>
    void SetPrivilegeLevel(int cpl);

    /// <summary>The current privilege level as the engine holds it (which the model normally reads from CS.RPL).</summary>
    int ReadPrivilegeLevel();

    /// <summary>
    /// Loads <paramref name="segment"/> (ES, CS, SS, DS, FS or GS) with its whole hidden part, as the CPU does after it
    /// read and checked a descriptor (the model performs the checks): selector, base, limit and attributes as given,
    /// and what the CPU derives from them: loading SS sets the CPL to SS.DPL; CS.L with EFER.LMA selects 64-bit code,
    /// otherwise CS.D selects 32-bit code; SS.B a 32-bit stack pointer. Unlike <see cref="WriteRegister"/> of a segment
    /// register (a real-mode load in a 16/32-bit engine, the selector alone in a 64-bit one), this works in every mode.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="segment"/> is not a segment register.</exception>
    void LoadSegment(GuestRegister segment, SegmentCache cache);

    /// <summary>Reads <paramref name="segment"/> (ES, CS, SS, DS, FS or GS) with its hidden part as the engine holds it.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="segment"/> is not a segment register.</exception>
    SegmentCache ReadSegment(GuestRegister segment);

    /// <summary>Reads GDTR, IDTR, LDTR or TR (selector and flags only for the last two).</summary>
    TableRegister ReadTableRegister(TableRegisterKind kind);

    /// <summary>Writes the base and limit of GDTR or IDTR.</summary>
    void WriteTableRegister(TableRegisterKind kind, ulong tableBase, uint limit);

    /// <summary>Reads a model-specific register the engine implements (unknown ones read as the engine reads them).</summary>
    ulong ReadMsr(uint msr);

    /// <summary>Writes a model-specific register the engine implements.</summary>
    void WriteMsr(uint msr, ulong value);

    /// <summary>Reads xmm<paramref name="index"/> (0 to 15).</summary>
    UInt128 ReadXmm(int index);

    /// <summary>Writes xmm<paramref name="index"/> (0 to 15).</summary>
    void WriteXmm(int index, UInt128 value);

    /// <summary>Maps a region of guest-physical memory (host memory shared by every core). Before the first run.</summary>
    void MapMemory(GuestMemoryRegion region);

    /// <summary>
    /// Maps [<paramref name="address"/>, <paramref name="address"/> + <paramref name="size"/>) of guest-physical memory
    /// (page-aligned, outside RAM) to a device's registers: every read and write there calls <paramref name="handler"/>
    /// with the offset from <paramref name="address"/>, on the core's thread. Before the first run. A handler that
    /// throws is reported through <see cref="IExecutionCallbacks.OnCallbackFailed"/> (a read then gives 0).
    /// </summary>
    void MapMmio(ulong address, ulong size, Devices.IMmioHandler handler);

    /// <summary>Guest-physical memory at <paramref name="address"/> was written behind the engine's back (a debugger's
    /// write): the context drops whatever it derived from it (translated code) without changing the guest's state.</summary>
    void PhysicalMemoryWritten(ulong address, ReadOnlySpan<byte> bytes);

    /// <summary>
    /// Runs from the linear address <paramref name="linearStart"/> until HLT, <see cref="Stop"/> or an error. Pausing
    /// happens inside callbacks, so a run that returns <see cref="RunOutcome.Ended"/> ended at HLT (RIP after it) or
    /// because it was asked to stop.
    /// </summary>
    RunResult Run(ulong linearStart);

    /// <summary>
    /// On the core's thread, before it runs guest code again (<see cref="Run"/> does it first; the block-boundary path
    /// after the core got the run baton back): drops the code other cores wrote to since (<see cref="CodeCoherence"/>).
    /// True when anything was dropped: a caller inside a run restarts the block it is at, which may be stale.
    /// </summary>
    bool ApplyOtherCoresCodeWrites();

    /// <summary>Ends the current run at the next block boundary, or at once from a callback.</summary>
    void Stop();

    /// <summary>Asks for <see cref="IExecutionCallbacks.OnBlockBoundary"/> at the next block boundary.</summary>
    void RaiseAttention();

    /// <summary>Withdraws <see cref="RaiseAttention"/>.</summary>
    void ClearAttention();

    /// <summary>Blocks to run before <see cref="IExecutionCallbacks.OnBlockBoundary"/> is called again (a time slice).</summary>
    void SetTimeSlice(int blocks);

    /// <summary>The linear address just past the translation block being executed (0 when unknown). A software INT n
    /// ends its block, so an event raised with RIP here after an <c>INT n</c> came from that instruction.</summary>
    ulong CurrentBlockEnd { get; }

    /// <summary>The linear address of the translation block being executed (0 when unknown): an instruction callback at
    /// this address is the first instruction the block runs.</summary>
    ulong CurrentBlockStart { get; }

    /// <summary>Drops every cached linear-to-physical translation of the engine (its TLB), as INVLPG or a MOV to CR3
    /// would; the next access walks the guest's page tables again. Safe from a callback.</summary>
    void FlushTlb();

    /// <summary>Translation blocks entered so far: a progress counter that does not move while the core waits.</summary>
    ulong BlocksExecuted { get; }

    /// <summary>
    /// Sets where the engine calls <see cref="IExecutionCallbacks.OnInstruction"/>: before the instruction at each of
    /// the linear <paramref name="addresses"/> executes, and before every instruction when
    /// <paramref name="everyInstruction"/> (single-stepping). Code elsewhere is not slowed: hooks are compiled only into
    /// translated code at those addresses. Translated code is dropped so the hooks apply at once, except in the block
    /// the core is executing, which keeps the hooks it was translated with until the model restarts it (writes RIP
    /// from a block-boundary or instruction callback). Call it on the core's thread (from a callback or before
    /// <see cref="Run"/>).
    /// </summary>
    void SetInstructionHooks(IReadOnlyCollection<ulong> addresses, bool everyInstruction);

    /// <summary>
    /// Sets the memory monitors' hooks: <see cref="IExecutionCallbacks.OnMemoryAccess"/> before each read or write of
    /// the guest-physical ranges in <paramref name="data"/> (inclusive ends), and
    /// <see cref="IExecutionCallbacks.OnInstruction"/> before each instruction in the linear ranges of
    /// <paramref name="execute"/> (an address there needs no instruction hook of its own). Translated code and cached
    /// translations are dropped as for <see cref="SetInstructionHooks"/>. Call it on the core's thread, before
    /// <see cref="SetInstructionHooks"/> when both change.
    /// </summary>
    void SetMonitorHooks(IReadOnlyList<(ulong Start, ulong End, MemoryAccessKinds Access)> data, IReadOnlyList<(ulong Start, ulong End)> execute);

    /// <summary>
    /// Hides EFER.SCE from the engine (HyperDbg's EFER hook for <c>!sysret</c>): while hidden, the engine's own EFER has
    /// SCE clear, so its SYSRET raises #UD (<see cref="IExecutionCallbacks.OnException"/>, vector 6) for the model to
    /// perform, while <see cref="ReadRegister"/>, <see cref="WriteRegister"/>, <see cref="ReadMsr"/> and
    /// <see cref="WriteMsr"/> of EFER read and write the guest's own value (SCE included). Showing it again puts the
    /// guest's SCE back into the engine. Call it on the core's thread (from a callback or before <see cref="Run"/>).
    /// </summary>
    void SetSyscallEnableHidden(bool hidden);

    /// <summary>True while <see cref="SetSyscallEnableHidden"/> hides EFER.SCE from the engine.</summary>
    bool SyscallEnableHidden { get; }

    /// <summary>
    /// Sets which instructions the engine reports to <see cref="IExecutionCallbacks.OnIntercept"/> before they execute
    /// (RIP at the instruction), replacing the previous set; <see cref="InstructionIntercepts.None"/> turns them off.
    /// Instructions that are not intercepted run at full speed. The MSR permission map lives in a few pages of
    /// guest-physical memory the guest is not given (above its RAM and every other region, not in its memory map).
    /// Takes effect at once (from a callback: with the next instruction). Call it on the core's thread (from a callback
    /// or before <see cref="Run"/>) or while the core waits.
    /// </summary>
    void SetIntercepts(InstructionIntercepts intercepts);

    /// <summary>The set given to <see cref="SetIntercepts"/>.</summary>
    InstructionIntercepts Intercepts { get; }

    /// <summary>
    /// The guest's time-stamp counter is the host's plus this offset (two's complement, as a VMCS's TSC offset): a
    /// negative offset makes the guest's TSC lag the host's. Takes effect with the next RDTSC; the same threading as
    /// <see cref="SetIntercepts"/>.
    /// </summary>
    long TscOffset { get; set; }

    /// <summary>The guest's time-stamp counter now, as its RDTSC would read it (the host's plus <see cref="TscOffset"/>).</summary>
    ulong ReadTimeStampCounter();

    /// <summary>
    /// After the model delivered an exception the engine raised (<see cref="IExecutionCallbacks.OnException"/>): the
    /// engine forgets it, so that the guest's next fault is not taken for a fault during delivery (#DF).
    /// </summary>
    void ExceptionDelivered();

    /// <summary>
    /// Puts the CPU back into the state it had when the context was opened, as an INIT signal does (SDM Vol. 3A 9.1.1,
    /// Table 9-1): registers, control registers, MSRs and the mode (real mode in a 16-bit engine), with the
    /// intercepts (<see cref="SetIntercepts"/>) and the TSC offset kept. Call it on the core's thread between runs.
    /// </summary>
    void ResetToInitState();
}
