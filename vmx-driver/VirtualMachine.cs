// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;
using HyperDbgRemote.VmxDriver.Internal.Engine;
using HyperDbgRemote.VmxDriver.Internal.Execution;
using HyperDbgRemote.VmxDriver.Internal.Unicorn;

namespace HyperDbgRemote.VmxDriver;

/// <summary>
/// A virtual machine on the CPU engine: guest RAM, N cores, the device bus and the VMX I/O-exit model.
/// </summary>
/// <remarks>
/// The engine's LOCK-prefixed instructions are not atomic across engine instances, so cores never execute at the same
/// time: one baton passes between the core threads at translation-block boundaries (every 250,000 blocks). A guest that
/// synchronises with LOCK/XCHG is therefore correct. Halting and pausing happen inside hooks, so every core stops at
/// an instruction boundary and resumes exactly there.
/// </remarks>
public sealed partial class VirtualMachine : IDisposable
{
    /// <summary>Blocks a core runs before it offers the baton to another core.</summary>
    public const int MultiCoreQuantumBlocks = 250_000;

    private readonly object _gate = new();
    private readonly List<Vcpu> _cores = [];
    private readonly long[] _exitsPerPort = new long[0x10000];
    private readonly ManualResetEventSlim _stoppedEvent = new(false);
    /// <summary>The core that may run; -1 when any may take it. Core 0, the bootstrap processor, runs first (and takes an
    /// initial break), as on a PC, whichever core thread the OS starts first.</summary>
    private int _batonOwner;
    private bool _halted;
    private bool _guestTimeFrozen;
    private VmHaltInfo? _haltInfo;
    private long _haltSequence; // guarded by _gate; see VmHaltInfo.Sequence
    private bool _pauseRequested;
    private (HaltReason Reason, object? Tag)? _requestedHalt; // guarded by _gate; see RequestHalt
    private volatile bool _haltRequested; // _requestedHalt is set: read without the lock by WantsAttention
    private volatile bool _stopRequested;
    private int _exitedCores;
    private VmStopInfo? _stopInfo;
    private VmStopInfo? _pendingStop;
    private bool _started;
    private int _initialBreak;
    private bool _disposed;

    private readonly ICpuEngine _engine;

    /// <summary>The cores' translated code kept coherent with each other's writes to it.</summary>
    internal Internal.Engine.CodeCoherence CodeCoherence { get; } = new();

    /// <summary>Creates the VM's memory and device bus; cores come from <see cref="AddCores"/> and run on Unicorn.</summary>
    public VirtualMachine(VmConfiguration configuration)
        : this(configuration, UnicornCpuEngine.Instance)
    {
    }

    /// <summary>A VM whose cores run on <paramref name="engine"/> (tests of the VMX model run on a fake one).</summary>
    internal VirtualMachine(VmConfiguration configuration, ICpuEngine engine)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(engine);
        configuration.Validate();
        Configuration = configuration;
        _engine = engine;
        Memory = new GuestMemory(configuration.MemoryBytes);
    }

    /// <summary>The VM's shape.</summary>
    public VmConfiguration Configuration { get; }

    /// <summary>Guest-physical memory.</summary>
    public GuestMemory Memory { get; }

    /// <summary>The device bus.</summary>
    public IoPortDispatcher Ports { get; } = new();

    /// <summary>The cores, bootstrap processor first.</summary>
    public IReadOnlyList<Vcpu> Cores => _cores;

    /// <summary>Receives I/O exits. Set before <see cref="Start(bool)"/> or while halted.</summary>
    public IVmExitHandler? ExitHandler { get; set; }

    /// <summary>Who is running on a core (pid, tid, process name).</summary>
    public IGuestOsProfile OsProfile { get; set; } = new DefaultGuestOsProfile();

    /// <summary>True while halted: no core executes a guest instruction until <see cref="Resume"/>.</summary>
    public bool IsHalted
    {
        get
        {
            lock (_gate)
            {
                return _halted;
            }
        }
    }

    /// <summary>The current halt, or null while running.</summary>
    public VmHaltInfo? CurrentHalt
    {
        get
        {
            lock (_gate)
            {
                return _haltInfo;
            }
        }
    }

    /// <summary>True once the run has ended.</summary>
    public bool HasStopped => _stoppedEvent.IsSet;

    /// <summary>How the run ended, or null while it goes on.</summary>
    public VmStopInfo? StopInfo => _stoppedEvent.IsSet ? _stopInfo : null;

    /// <summary>Raised on the halting core's thread when the VM halts; the VM stays halted until <see cref="Resume"/>.</summary>
    public event EventHandler<VmHaltInfo>? Halted;

    /// <summary>Raised once when the run ends.</summary>
    public event EventHandler<VmStopInfo>? Stopped;

    internal bool StopRequested => _stopRequested;

    internal int QuantumBlocks => _cores.Count > 1 ? MultiCoreQuantumBlocks : int.MaxValue;

    /// <summary>Creates one core per start description (the bootstrap processor first).</summary>
    public void AddCores(IReadOnlyList<CoreStart> starts)
    {
        ArgumentNullException.ThrowIfNull(starts);
        if (_started || _cores.Count != 0)
        {
            throw new InvalidOperationException("Cores are added once, before the VM starts.");
        }

        if (starts.Count != Configuration.Cores)
        {
            throw new ArgumentException($"The guest describes {starts.Count} core(s) but the VM has {Configuration.Cores}.", nameof(starts));
        }

        var created = new List<Vcpu>(starts.Count);
        for (int i = 0; i < starts.Count; i++)
        {
            created.Add(new Vcpu(this, i, starts[i], _engine));
        }

        // Under the gate: the clock's pacer (a host timer thread, PaceClock) walks the cores under it.
        lock (_gate)
        {
            _cores.AddRange(created);
        }

        ConnectCores();
    }

    /// <summary>Starts every core.</summary>
    public void Start() => Start(initialBreak: false);

    /// <summary>Starts every core; with <paramref name="initialBreak"/> the VM halts (<see cref="HaltReason.InitialBreak"/>)
    /// before the first guest instruction, as a kernel debugger's initial breakpoint does, until <see cref="Resume"/>.</summary>
    public void Start(bool initialBreak)
    {
        _initialBreak = initialBreak ? 1 : 0;
        if (_started)
        {
            throw new InvalidOperationException("The VM was already started.");
        }

        if (_cores.Count == 0)
        {
            throw new InvalidOperationException("The VM has no cores: load a guest first.");
        }

        _started = true;
        foreach (Vcpu core in _cores)
        {
            core.Prepare();
        }

        // Every core is runnable before any thread starts: a core whose thread the OS had not started yet would
        // otherwise be passed over when the first one's time slice ends, and that one would run on alone.
        foreach (Vcpu core in _cores)
        {
            core.State = core.WaitsForStartup ? CoreState.WaitingForStartup : CoreState.Running;
        }

        foreach (Vcpu core in _cores)
        {
            core.StartThread();
        }
    }

    /// <summary>I/O exits taken so far, per port (only ports with at least one exit).</summary>
    public IReadOnlyDictionary<ushort, long> ExitCountsByPort()
    {
        var result = new SortedDictionary<ushort, long>();
        for (int p = 0; p < _exitsPerPort.Length; p++)
        {
            long n = Volatile.Read(ref _exitsPerPort[p]);
            if (n != 0)
            {
                result[(ushort)p] = n;
            }
        }

        return result;
    }

    /// <remarks>Only the core holding the run baton counts, so plain increments suffice.</remarks>
    /// <summary>
    /// Writes guest-physical memory for a debugger or an exit handler: the bytes land in RAM and every core drops code
    /// it translated from them, so patched code runs as patched. Call it while the VM is halted, before it starts, or
    /// from an exit handler. Returns the bytes written (stops at unmapped or read-only memory).
    /// </summary>
    /// <exception cref="InvalidOperationException">The VM is running and the caller is not one of its cores.</exception>
    public int WritePhysical(ulong address, ReadOnlySpan<byte> bytes)
    {
        if (_started && !HasStopped && !CoreThread.IsCurrentThreadACore && !IsHalted)
        {
            throw new InvalidOperationException("Guest memory can be written while the VM is halted (or from an exit handler), not while it runs.");
        }

        int n = Memory.Write(address, bytes);
        if (n > 0 && _started)
        {
            foreach (Vcpu core in _cores)
            {
                core.Context.PhysicalMemoryWritten(address, bytes[..n]);
            }
        }

        return n;
    }

    internal void CountExit(ushort port) => _exitsPerPort[port]++;

    /// <summary>Waits until the run ends; returns how, or null on timeout.</summary>
    public VmStopInfo? WaitForStop(TimeSpan timeout) => _stoppedEvent.Wait(timeout) ? _stopInfo : null;

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_started)
        {
            Stop();
            foreach (Vcpu core in _cores)
            {
                core.Join();
            }
        }

        foreach (Vcpu core in _cores)
        {
            core.Dispose();
        }

        Memory.Dispose();
        _stoppedEvent.Dispose();
    }
}
