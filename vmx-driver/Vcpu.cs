// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;
using HyperDbgRemote.VmxDriver.Internal.Engine;
using HyperDbgRemote.VmxDriver.Internal.Execution;

namespace HyperDbgRemote.VmxDriver;

/// <summary>
/// One virtual CPU: its VMCS I/O controls, its registers and its view of guest memory, on an execution context of the
/// CPU engine (<c>Internal/Engine</c>) that runs on the core's own thread. Registers and memory may be read and written
/// from another thread while the VM is halted (every core then waits inside a callback).
/// </summary>
/// <remarks>
/// The VMX model around it: <see cref="IoInstructions"/> (I/O instructions and their exits), <see cref="EventDelivery"/> (interrupts,
/// exceptions, injection), <see cref="CoreTraps"/> (what the engine calls), <see cref="CoreThread"/> (running and
/// sleeping in HLT), <see cref="Segmentation"/> and <see cref="PageWalker"/> (addresses).
/// </remarks>
public sealed partial class Vcpu : IDisposable
{
    private readonly VirtualMachine _vm;
    private readonly CoreStart _start;
    private readonly IoInstructions _io;
    private readonly EventDelivery _events;
    private readonly ExternalInterrupts _interrupts;
    private readonly CoreThread _thread;
    private string? _fault;
    private bool _disposed;

    internal Vcpu(VirtualMachine vm, int index, CoreStart start, ICpuEngine engine)
    {
        _vm = vm;
        Index = index;
        _start = start;
        _io = new IoInstructions(this);
        _events = new EventDelivery(this);
        _interrupts = new ExternalInterrupts(this, _events);
        _thread = new CoreThread(this);
        Debug = new CoreDebug(this);
        GuestBreakpoints = new GuestBreakpoints(this);
        Watch = new InstructionWatch(this);
        Context = engine.Open(index, start.Mode, _io, new CoreTraps(this, _events, _interrupts), vm.CodeCoherence);
        Intercepts = new CoreIntercepts(this, _events);
        Intercepts.Apply();
        InstructionEvents = new InstructionEventIntercepts(this);
    }

    /// <summary>The core's index (0 = bootstrap processor).</summary>
    public int Index { get; }

    /// <summary>The VM this core belongs to.</summary>
    public VirtualMachine Machine => _vm;

    /// <summary>The I/O part of this core's VMCS.</summary>
    public VmcsIoControls Controls { get; } = new();

    /// <summary>What the core is doing.</summary>
    public CoreState State { get; internal set; }

    /// <summary>Translation blocks entered so far: a progress counter that does not move while the core is halted.</summary>
    public ulong BlocksExecuted => Context.BlocksExecuted;

    /// <summary>I/O exits taken by this core.</summary>
    public long ExitCount => _io.Count;

    /// <summary>Interrupts and exceptions delivered so far.</summary>
    public long InterruptsDelivered => _events.Delivered;

    /// <summary>True when the core is in long mode (EFER.LMA) and so has 64-bit registers: always for a core started in
    /// long mode; for one started in real mode, from when its code enters long mode (as Linux's setup code does).</summary>
    public bool Is64Bit => Context.Is64Bit;

    /// <summary>The core's code breakpoints and single-stepping.</summary>
    internal CoreDebug Debug { get; }

    /// <summary>The driver's look at every instruction while an instruction event or <c>!sysret</c> needs it.</summary>
    internal InstructionWatch Watch { get; }

    /// <summary>The guest's DR0–DR3, DR6 and DR7 (the engine never holds them: see the type's remarks).</summary>
    internal GuestDebugRegisters DebugRegisters { get; } = new();

    /// <summary>The guest's own hardware breakpoints, armed from <see cref="DebugRegisters"/>.</summary>
    internal GuestBreakpoints GuestBreakpoints { get; }

    /// <summary>The core's delivery of interrupts and exceptions.</summary>
    internal EventDelivery Events => _events;

    /// <summary>The core's instruction intercepts (MSR, CR, DR, RDTSC, RDPMC) and their exits.</summary>
    internal CoreIntercepts Intercepts { get; }

    /// <summary>HyperDbg's instruction events (and <c>!sysret</c>'s EFER hook) on the core's intercepts.</summary>
    internal InstructionEventIntercepts InstructionEvents { get; }

    /// <summary>The core's CPU in the engine.</summary>
    internal IExecutionContext Context { get; }

    /// <summary>The report of a fault that ends the run, once one happened.</summary>
    internal string? Fault => _fault;

    internal bool HasFault => _fault is not null;

    /// <summary>Where the core starts (linear).</summary>
    internal ulong LinearStart => CoreStartState.StartAddress(_start);

    /// <summary>
    /// Reads a register (architectural width; 0 for registers the current mode lacks, e.g. R8 in a 16-bit guest).
    /// Never throws for a <see cref="GuestRegister"/> value. CR8 reads 0, as the guest reads it: the engine has no
    /// task-priority register.
    /// </summary>
    /// <remarks>DR0–DR3, DR6 and DR7 are the model's (<see cref="DebugRegisters"/>), never the engine's.</remarks>
    public ulong ReadRegister(GuestRegister register) =>
        register == GuestRegister.Rip && _io.ExitRip is ulong rip ? rip
        : GuestDebugRegisters.Holds(register) ? DebugRegisters.Read(register)
        : Context.ReadRegister(register);

    /// <summary>Writes a register. Writing RIP with the value it has changes nothing (the engine would otherwise leave
    /// its current block and start again there, which inside an I/O exit would replay the block's instructions).</summary>
    /// <exception cref="InvalidOperationException">The register does not exist in the current mode, or it is CR8 and
    /// the value is not 0 (the engine has no task-priority register).</exception>
    public void WriteRegister(GuestRegister register, ulong value)
    {
        if (register == GuestRegister.Rip && value == ReadRegister(GuestRegister.Rip))
        {
            return;
        }

        if (GuestDebugRegisters.Holds(register))
        {
            DebugRegisters.Write(register, value);
            Context.RaiseAttention(); // the breakpoints are armed again at the next block boundary (CoreDebug)
            return;
        }

        Context.WriteRegister(register, value);
        _io.RegistersWritten = true;
        if (register is GuestRegister.Cr0 or GuestRegister.Cr3 or GuestRegister.Cr4)
        {
            GuestBreakpoints.PagingChanged(); // the guest's data breakpoints are translated again
        }
    }

    /// <summary>The code size of the current instruction: 64 in 64-bit mode, 32 or 16 (CS.D) in compatibility and
    /// protected mode, 16 in real mode. What a decoder of the guest's code needs; the register layout follows
    /// <see cref="Is64Bit"/> (long mode), compatibility mode included.</summary>
    public int CodeBitness() => Segmentation.CodeBitness(Context, Is64Bit);

    /// <summary>The base of a segment register: selector × 16 in real mode, the descriptor base in protected and
    /// compatibility mode, 0 (FS/GS: their base MSRs) in 64-bit mode.</summary>
    public ulong SegmentBase(GuestRegister segment) => Segmentation.Base(Context, Is64Bit, segment);

    /// <summary>The linear address of the current instruction (CS base + RIP).</summary>
    public ulong LinearInstructionPointer() => SegmentBase(GuestRegister.Cs) + ReadRegister(GuestRegister.Rip);

    /// <summary>Decodes the current instruction (at CS base + RIP, in <see cref="CodeBitness"/>); an invalid instruction
    /// when its bytes do not map.</summary>
    internal Iced.Intel.Instruction DecodeCurrentInstruction()
    {
        Span<byte> bytes = stackalloc byte[15];
        ulong rip = ReadRegister(GuestRegister.Rip);
        int read = ReadVirtual(SegmentBase(GuestRegister.Cs) + rip, bytes);
        var decoder = Iced.Intel.Decoder.Create(CodeBitness(), new Iced.Intel.ByteArrayCodeReader(bytes[..read].ToArray()), rip);
        decoder.Decode(out Iced.Intel.Instruction instruction);
        return instruction;
    }

    /// <summary>
    /// Queues an interrupt or exception for this core, delivered through the guest's IVT or IDT at the next block
    /// boundary (before any instruction of that block runs), or at once when the core stops at HLT, as a VMM injects
    /// an event at VM entry. From an exit handler, the rest of the exiting instruction's basic block runs first (the
    /// engine cannot leave a block precisely after an I/O hook). A core sleeping in HLT is woken by it.
    /// False when one is already pending or the vector is not 0–255.
    /// </summary>
    public bool TryInject(int vector, uint? errorCode = null)
    {
        if (!_events.TryQueue(vector, errorCode))
        {
            return false;
        }

        Context.RaiseAttention();
        _vm.Wake(this);
        return true;
    }

    /// <summary>
    /// Puts the VM's frozen time into this core's TSC offset: the guest's TSC is the host's minus the ticks spent
    /// frozen (<see cref="VirtualMachine.TscFrozenTicks"/>), plus what the guest's WRMSR to the TSC MSR added. Called on
    /// the core's thread before it executes guest code again after a halt (before a run, after the VM's block-boundary
    /// work, at the end of a halt inside an instruction); costs a read and a compare when nothing changed.
    /// </summary>
    internal void SyncTsc()
    {
        long offset = Intercepts.TscAdjust - _vm.TscFrozenTicks;
        if (Context.TscOffset != offset)
        {
            Context.TscOffset = offset;
        }
    }

    /// <summary>
    /// The guest's TSC as RDTSC and RDMSR 10h read it: with a guest time base (<see cref="VirtualMachine.Clock"/>) the
    /// clock's TSC, after this core fired the timers due by then (so the guest never reads a TSC past a timer event it
    /// was not given), plus this core's WRMSR adjustment; without one, the engine's (the host's TSC, offset).
    /// </summary>
    internal ulong ReadGuestTsc()
    {
        if (_vm.Clock is VirtualClock clock)
        {
            FireDueTimers();
            return clock.ReadTsc() + (ulong)Intercepts.TscAdjust;
        }

        return Context.ReadTimeStampCounter();
    }

    /// <summary>Fires the guest time base's due timers on this core's thread (the clock is paced by the running cores,
    /// see <see cref="VirtualClock.PaceBy"/>).</summary>
    internal void FireDueTimers()
    {
        if (_vm.Clock is VirtualClock clock && clock.HasDueTimers)
        {
            clock.RunDueTimersOnCore();
        }
    }

    /// <summary>An injected event waits for delivery.</summary>
    internal bool HasPendingInjection => _events.HasPendingInjection;

    internal void DeliverPendingInjection(ulong blockAddress) => _events.DeliverPendingInjection(blockAddress);

    /// <summary>Delivers an exception the engine raised or reported (see <see cref="EventDelivery.DeliverException"/>).</summary>
    internal void DeliverException(int vector) => _events.DeliverException(vector);

    /// <summary>Maps guest memory and sets the start state. Called once before <see cref="StartThread"/>.</summary>
    internal void Prepare()
    {
        foreach (GuestMemoryRegion r in _vm.Memory.Regions)
        {
            Context.MapMemory(r);
        }

        foreach (VirtualMachine.MmioMapping m in _vm.MmioMappings)
        {
            Context.MapMmio(m.Address, m.Size, m.HandlerForCore(Index));
        }

        CoreStartState.Apply(Context, _start);
    }

    internal void StartThread()
    {
        Context.SetTimeSlice(_vm.QuantumBlocks);
        _thread.Start();
    }

    internal void Join() => _thread.Join();

    internal void RaiseAttention() => Context.RaiseAttention();

    internal void ClearAttention() => Context.ClearAttention();

    /// <summary>Called by the VM to end this core's run at the next block boundary or now (from its own callbacks).</summary>
    internal void StopEngine() => Context.Stop();

    /// <summary>Records a fault and stops this core's run; the VM then stops with the report.</summary>
    internal void Fail(string report)
    {
        _fault ??= report;
        Context.Stop();
    }

    /// <summary>The number of XMM registers a core has (xmm0 to xmm15).</summary>
    public const int XmmRegisterCount = 16;

    /// <summary>Reads a model-specific register (one the engine does not implement reads as the engine reads it: 0).</summary>
    public ulong ReadMsr(uint msr) => Context.ReadMsr(msr);

    /// <summary>Writes a model-specific register (the engine ignores one it does not implement).</summary>
    public void WriteMsr(uint msr, ulong value)
    {
        Context.WriteMsr(msr, value);
        _io.RegistersWritten = true;
    }

    /// <summary>The base address a descriptor-table register holds (what HyperDbg's <c>@idtr</c> and its kin give).</summary>
    public ulong ReadTableBase(DescriptorTableRegister register) => Context.ReadTableRegister(register switch
    {
        DescriptorTableRegister.Gdtr => TableRegisterKind.Gdtr,
        DescriptorTableRegister.Idtr => TableRegisterKind.Idtr,
        DescriptorTableRegister.Ldtr => TableRegisterKind.Ldtr,
        _ => TableRegisterKind.Tr,
    }).Base;

    /// <summary>Reads xmm<paramref name="index"/> (0 to 15).</summary>
    public UInt128 ReadXmm(int index) => Context.ReadXmm(CheckXmm(index));

    /// <summary>Writes xmm<paramref name="index"/> (0 to 15).</summary>
    public void WriteXmm(int index, UInt128 value)
    {
        Context.WriteXmm(CheckXmm(index), value);
        _io.RegistersWritten = true;
    }

    private static int CheckXmm(int index) =>
        index is >= 0 and < XmmRegisterCount ? index : throw new ArgumentOutOfRangeException(nameof(index), index, "xmm registers are xmm0 to xmm15");

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Context.Dispose();
    }
}
