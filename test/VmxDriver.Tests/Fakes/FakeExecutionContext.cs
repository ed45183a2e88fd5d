// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;
using HyperDbgRemote.VmxDriver.Internal.Execution;

namespace HyperDbgRemote.VmxDriver.Tests.Fakes;

/// <summary>
/// An execution context that executes nothing: registers live in a table, and a run calls the test's program, which
/// plays the traps an engine would raise (<see cref="Out"/>, <see cref="In"/>, <see cref="Raise"/>,
/// <see cref="Boundary"/>) on the core's thread, as the engine's hooks would.
/// </summary>
internal sealed class FakeExecutionContext : IExecutionContext
{
    private readonly IExecutionCallbacks _callbacks;
    private readonly IoInstructions _io;
    private readonly Func<FakeExecutionContext, RunResult> _program;
    private readonly Dictionary<GuestRegister, ulong> _registers = [];
    private readonly Dictionary<TableRegisterKind, TableRegister> _tables = [];
    private readonly UInt128[] _xmm = new UInt128[16];

    public FakeExecutionContext(bool is64Bit, IoInstructions io, IExecutionCallbacks callbacks, Func<FakeExecutionContext, RunResult> program)
    {
        Is64Bit = is64Bit;
        _io = io;
        _callbacks = callbacks;
        _program = program;
    }

    public bool Is64Bit { get; }

    public ulong BlocksExecuted { get; private set; }

    public ulong CurrentBlockEnd => 0;

    public ulong CurrentBlockStart => 0;

    public void FlushTlb()
    {
    }

    /// <summary>Runs started so far.</summary>
    public int Runs { get; private set; }

    /// <summary>Calls of <see cref="ExceptionDelivered"/>.</summary>
    public int ExceptionsDelivered { get; private set; }

    public bool StopRequested { get; private set; }

    public List<GuestMemoryRegion> Mapped { get; } = [];

    public int PrivilegeLevel { get; private set; }

    public ulong ReadRegister(GuestRegister register) => _registers.GetValueOrDefault(register);

    public void SetPrivilegeLevel(int cpl) => PrivilegeLevel = cpl;

    public int ReadPrivilegeLevel() => PrivilegeLevel;

    public void WriteRegister(GuestRegister register, ulong value) => _registers[register] = value;

    /// <summary>The segments loaded through <see cref="LoadSegment"/>; others read as their selector with base 0.</summary>
    public Dictionary<GuestRegister, SegmentCache> Segments { get; } = [];

    public void LoadSegment(GuestRegister segment, SegmentCache cache)
    {
        Segments[segment] = cache;
        _registers[segment] = cache.Selector;
    }

    public SegmentCache ReadSegment(GuestRegister segment) =>
        Segments.TryGetValue(segment, out SegmentCache cache) && cache.Selector == (ushort)ReadRegister(segment)
            ? cache
            : new SegmentCache((ushort)ReadRegister(segment), 0, 0xFFFF, 0);

    public TableRegister ReadTableRegister(TableRegisterKind kind) => _tables.GetValueOrDefault(kind);

    public void WriteTableRegister(TableRegisterKind kind, ulong tableBase, uint limit) => _tables[kind] = new TableRegister(tableBase, limit);

    public ulong ReadMsr(uint msr) => 0;

    public UInt128 ReadXmm(int index) => _xmm[index];

    public void WriteXmm(int index, UInt128 value) => _xmm[index] = value;

    public void WriteMsr(uint msr, ulong value)
    {
    }

    public void MapMemory(GuestMemoryRegion region) => Mapped.Add(region);

    /// <summary>The MMIO regions mapped, in order.</summary>
    public List<(ulong Address, ulong Size, HyperDbgRemote.VmxDriver.Devices.IMmioHandler Handler)> MappedMmio { get; } = [];

    public void MapMmio(ulong address, ulong size, HyperDbgRemote.VmxDriver.Devices.IMmioHandler handler) => MappedMmio.Add((address, size, handler));

    public void PhysicalMemoryWritten(ulong address, ReadOnlySpan<byte> bytes)
    {
    }

    /// <summary>A fake translates nothing: there is never code to drop.</summary>
    public bool ApplyOtherCoresCodeWrites() => false;

    public RunResult Run(ulong linearStart)
    {
        Runs++;
        StopRequested = false;
        _registers[GuestRegister.Rip] = linearStart;
        return _program(this);
    }

    public void Stop() => StopRequested = true;

    public void RaiseAttention()
    {
    }

    public void ClearAttention()
    {
    }

    public void SetTimeSlice(int blocks)
    {
    }

    public void ExceptionDelivered() => ExceptionsDelivered++;

    /// <summary>Calls of <see cref="ResetToInitState"/>.</summary>
    public int Resets { get; private set; }

    public void ResetToInitState()
    {
        Resets++;
        _registers.Clear();
        _tables.Clear();
        Segments.Clear();
        PrivilegeLevel = 0;
    }

    public bool SyscallEnableHidden { get; private set; }

    public void SetSyscallEnableHidden(bool hidden) => SyscallEnableHidden = hidden;

    public InstructionIntercepts Intercepts { get; private set; } = InstructionIntercepts.None;

    public void SetIntercepts(InstructionIntercepts intercepts) => Intercepts = intercepts;

    public long TscOffset { get; set; }

    public ulong ReadTimeStampCounter() => (ulong)TscOffset;

    /// <summary>The addresses and the single-step flag the model asked for last.</summary>
    public (ulong[] Addresses, bool EveryInstruction) InstructionHooks { get; private set; } = ([], false);

    public void SetInstructionHooks(IReadOnlyCollection<ulong> addresses, bool everyInstruction) =>
        InstructionHooks = ([.. addresses], everyInstruction);

    public void SetMonitorHooks(IReadOnlyList<(ulong Start, ulong End, MemoryAccessKinds Access)> data, IReadOnlyList<(ulong Start, ulong End)> execute) =>
        MonitorHooks = ([.. data], [.. execute]);

    public ((ulong Start, ulong End, MemoryAccessKinds Access)[] Data, (ulong Start, ulong End)[] Execute) MonitorHooks { get; private set; } = ([], []);

    /// <summary>An OUT, the <paramref name="index"/>-th I/O instruction of the code at <paramref name="start"/>.</summary>
    public void Out(ushort port, int size, uint value, ulong start, uint index = 0) => _io.Out(port, size, value, new IoLocation(start, 64, index));

    /// <summary>An IN; returns what the instruction reads.</summary>
    public uint In(ushort port, int size, ulong start, uint index = 0) => _io.In(port, size, new IoLocation(start, 64, index));

    /// <summary>The engine raises an exception (RIP is wherever the test put it).</summary>
    public void Raise(int vector) => _callbacks.OnException(vector);

    /// <summary>A block boundary at <paramref name="address"/>.</summary>
    public void Boundary(ulong address)
    {
        BlocksExecuted++;
        _callbacks.OnBlockBoundary(address);
    }

    public void Dispose()
    {
    }
}
