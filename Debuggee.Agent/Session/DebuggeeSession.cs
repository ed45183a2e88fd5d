// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Events;
using HyperDbgRemote.Agent.Messaging;
using HyperDbgRemote.Agent.Outputs;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Devices;
using HyperDbgRemote.VmxDriver.Guests;
using HyperDbgRemote.VmxDriver.Guests.Linux;
using Iced.Intel;

namespace HyperDbgRemote.Agent.Session;

/// <summary>
/// The debuggee side of a debugging session: the VM with its devices, the events, the outputs and the outgoing
/// messages. Transports (serial, pipe, TCP, gRPC) translate requests into these calls and messages back.
/// </summary>
internal sealed partial class DebuggeeSession : IDisposable
{
    private readonly IGuestLoader _guest;
    private readonly SemaphoreSlim _haltGate = new(1, 1);
    private readonly Lazy<SymbolIndex> _symbolIndex;
    private bool _quietSteps;

    /// <param name="guest">The guest to load.</param>
    /// <param name="configuration">The VM's shape.</param>
    /// <param name="limits">What a peer may ask (null: the defaults).</param>
    /// <param name="time">The host clock for guest time and message batching (null: the system's).</param>
    /// <param name="outputs">Where event outputs may go (null: nowhere).</param>
    /// <param name="serialPorts">How many COM ports the guest gets.</param>
    /// <param name="panicHalt">For a Linux guest with System.map: halt the guest when its kernel panics
    /// (<see cref="LinuxPanicWatch"/>); false leaves the kernel to its own panic handling (<c>--no-panic-halt</c>).</param>
    public DebuggeeSession(IGuestLoader guest, VmConfiguration configuration, ProtocolLimits? limits = null, TimeProvider? time = null, OutputPolicy? outputs = null, int serialPorts = 4, bool panicHalt = true)
    {
        ArgumentNullException.ThrowIfNull(guest);
        _guest = guest;
        _symbolIndex = new Lazy<SymbolIndex>(() => new SymbolIndex(guest.Symbols, guest.AddressSymbols));
        Limits = limits ?? ProtocolLimits.Default;
        Vm = new VirtualMachine(configuration);
        Devices = StandardDevices.Attach(Vm, new StandardDevicesOptions { Time = time, SerialPorts = serialPorts });
        Vm.AddCores(guest.Load(Vm));
        PanicWatch = panicHalt && guest is LinuxGuest linux ? LinuxPanicWatch.Attach(Vm, Devices, linux.Map) : null;
        Messages = new MessageQueue(time);
        Outputs = new OutputManager(outputs ?? OutputPolicy.None, report => Messages.Log(EventLogLevel.Warning, report), Limits);
        Events = new EventManager(Vm, new EventMessageRouter(Messages, Outputs), Limits);
        Vm.ExitHandler = Events;
        BreakpointOwners = new CodeBreakpointOwners(Vm);
        Breakpoints = new BreakpointTable(this);
        Vm.CodeBreakpointFilter = Breakpoints.Decide;
        Vm.Halted += OnHalted;
        Vm.Stopped += (_, info) => OnStopped(info);
    }

    public VirtualMachine Vm { get; }

    public StandardDevices Devices { get; }

    /// <summary>The kernel-panic watch of a Linux guest with System.map, or null (another guest, or <c>--no-panic-halt</c>).</summary>
    public LinuxPanicWatch? PanicWatch { get; }

    public EventManager Events { get; }

    public OutputManager Outputs { get; }

    public MessageQueue Messages { get; }

    /// <summary>The references every debugger (the host's table, each gdb client) holds on the VM's code breakpoints.</summary>
    public CodeBreakpointOwners BreakpointOwners { get; }

    /// <summary>The host's code breakpoints by id (<c>bp</c>, <c>bl</c>, <c>bc</c>, <c>bd</c>, <c>be</c>).</summary>
    public BreakpointTable Breakpoints { get; }

    /// <summary>The limits on what a peer may ask (the one limits object).</summary>
    public ProtocolLimits Limits { get; }

    /// <summary>The guest's description.</summary>
    public string GuestDescription => _guest.Description;

    /// <summary>The guest's symbols (<c>module!name</c>) for scripts.</summary>
    public IReadOnlyDictionary<string, ulong> Symbols => _guest.Symbols;

    /// <summary>The guest's symbols indexed for <c>x</c>, <c>ln</c>, <c>u</c> and <c>k</c> (built at the first question).</summary>
    public SymbolIndex SymbolIndex => _symbolIndex.Value;

    /// <summary>Starts the guest, halted before its first instruction when <paramref name="initialBreak"/> is set.</summary>
    public void Start(bool initialBreak = false) => Vm.Start(initialBreak);

    /// <summary>While set, step halts are not sent to the hosts (<c>gu</c>'s intermediate steps): the stepper sends the
    /// last one itself.</summary>
    public bool QuietSteps
    {
        get => Volatile.Read(ref _quietSteps);
        set => Volatile.Write(ref _quietSteps, value);
    }

    private void OnHalted(object? sender, VmHaltInfo halt)
    {
        if (QuietSteps && halt.Reason == VmxDriver.HaltReason.Step)
        {
            return;
        }

        Messages.FlushBatch();
        Messages.Enqueue(Describe(halt));
    }

    /// <summary>The current halt as a message, naming the host's breakpoint when one halted it.</summary>
    public static HaltedMessage Describe(VmHaltInfo halt)
    {
        HaltedMessage message = DescribeHalt(halt);
        return halt.Reason == VmxDriver.HaltReason.Breakpoint && halt.Tag is BreakpointTable.HaltTag tag
            ? message with { BreakpointId = tag.BreakpointId }
            : message;
    }

    private void OnStopped(VmStopInfo info)
    {
        Messages.FlushBatch();
        Messages.Enqueue(new StoppedMessage(info.Reason.ToString(), info.ExitStatus, info.Report));
    }

    /// <summary>The halt as a message: core, reason, event, stage, port and the current instruction disassembled.</summary>
    public static HaltedMessage DescribeHalt(VmHaltInfo halt)
    {
        ArgumentNullException.ThrowIfNull(halt);
        return DescribeHaltState(halt) with { HaltId = (ulong)halt.Sequence };
    }

    private static HaltedMessage DescribeHaltState(VmHaltInfo halt)
    {
        Vcpu core = halt.Core;
        Dictionary<string, ulong> registers = RegisterNames.Displayed.ToDictionary(n => n, n => RegisterNames.Read(core, n), StringComparer.Ordinal);
        if (halt.Exit is IoExit exit)
        {
            return new HaltedMessage(core.Index, "event", halt.Tag as int?, exit.Stage == ExitStage.Pre ? "pre" : "post", exit.Port, exit.Rip, exit.InstructionBytes.ToArray(), exit.Disassemble(), registers);
        }

        if (halt.Access is MemoryAccessExit access)
        {
            HaltedMessage current = DescribeHalt(halt with { Access = null, Reason = VmxDriver.HaltReason.BreakIn });
            (MemoryMonitor monitor, ulong address) = access.Matches.FirstOrDefault(m => ReferenceEquals(m.Monitor.Owner, halt.Tag) || (halt.Tag is int id && m.Monitor.Owner is RegisteredEvent e && e.Id == id));
            return current with
            {
                Reason = "event",
                EventId = halt.Tag as int?,
                Stage = "pre",
                Monitor = (monitor is null ? access.Matches[0].Address : address, access.Kind.ToString().ToLowerInvariant()),
            };
        }

        if (halt.GuestEvent is GuestEventExit guestEvent)
        {
            HaltedMessage current = DescribeHalt(halt with { GuestEvent = null, Reason = VmxDriver.HaltReason.BreakIn });
            return current with
            {
                Reason = "event",
                EventId = halt.Tag as int?,
                Stage = guestEvent.Stage == ExitStage.Pre ? "pre" : "post",
                GuestEvent = (guestEvent.KindName, guestEvent.Context),
            };
        }

        ulong rip = core.ReadRegister(GuestRegister.Rip);
        byte[] bytes = new byte[16];
        int n = core.ReadVirtual(core.LinearInstructionPointer(), bytes);
        string text = n == 0 ? "??" : Disassemble(core, core.LinearInstructionPointer(), bytes.AsSpan(0, n), 1)[0].Text;
        return new HaltedMessage(core.Index, halt.Reason switch
        {
            VmxDriver.HaltReason.InitialBreak => "initial-break",
            VmxDriver.HaltReason.Breakpoint => "breakpoint",
            VmxDriver.HaltReason.Step => "step",
            VmxDriver.HaltReason.KernelPanic => "kernel-panic",
            _ => "break-in",
        }, null, null, null, rip, bytes[..n], text, registers)
        {
            Panic = halt.Tag as KernelPanicReport,
        };
    }

    /// <summary>
    /// Continues a halted guest, after <paramref name="beforeResume"/> (which may change the halt, e.g. skip the I/O
    /// instruction) under the same gate, so no other request acts between the check and the resume.
    /// </summary>
    /// <exception cref="SessionException">It is not halted.</exception>
    public void Continue(Action<VmHaltInfo>? beforeResume = null, CancellationToken cancellationToken = default)
    {
        WhileHalted("continuing", () =>
        {
            beforeResume?.Invoke(Vm.CurrentHalt!);

            // "Running" goes out before the guest runs, so a break that follows at once is reported after it.
            Messages.Enqueue(new RunningMessage());
            Vm.Resume();
            return true;
        }, cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="action"/> while the debuggee stays halted: the check "halted" and the act are one step for
    /// every host, because a continue (from any host, or --resume-after) passes the same gate. Requests that read or
    /// change a halted core's state go through here; waiting for the gate ends with the request's cancellation.
    /// </summary>
    /// <exception cref="SessionException">It is not halted (NotHalted).</exception>
    public T WhileHalted<T>(string what, Func<T> action, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(action);
        _haltGate.Wait(cancellationToken);
        try
        {
            RequireHalted(what);
            return action();
        }
        finally
        {
            _haltGate.Release();
        }
    }

    /// <summary>Breaks in: halts every core. Returns false when it did not halt in time.</summary>
    public bool Pause(TimeSpan timeout) => Vm.Pause(timeout);

    /// <summary>The core numbered <paramref name="core"/>.</summary>
    public Vcpu Core(int core) =>
        core >= 0 && core < Vm.Cores.Count ? Vm.Cores[core] : throw new SessionException($"core {core:x} does not exist (the guest has {Vm.Cores.Count}).");

    private void RequireHalted(string what)
    {
        if (!Vm.IsHalted)
        {
            throw new SessionException(
                what == "continuing" ? "the debuggee is not halted." : $"{what} needs a halted debuggee: pause it first.",
                Protocol.Messages.Status.NotHalted);
        }
    }

    /// <summary>Reads every full register of a core by its name (<see cref="RegisterNames.Full"/>) and its xmm
    /// registers (halted only).</summary>
    public (IReadOnlyDictionary<string, ulong> Registers, UInt128[] Xmm) ReadRegisters(int core) => WhileHalted("reading registers", () =>
    {
        Vcpu c = Core(core);
        var registers = RegisterNames.Full.ToDictionary(n => n, n => RegisterNames.Read(c, n), StringComparer.Ordinal);
        UInt128[] xmm = [.. Enumerable.Range(0, Vcpu.XmmRegisterCount).Select(c.ReadXmm)];
        return ((IReadOnlyDictionary<string, ulong>)registers, xmm);
    });

    /// <summary>Writes a register or a part of one, by name, on a core (halted only). RIP cannot move inside an I/O
    /// instruction's exit (see docs/differences.md).</summary>
    public void WriteRegister(int core, string name, ulong value, ulong high = 0) => WhileHalted("writing registers", () =>
    {
        if (Vm.CurrentHalt is { Reason: VmxDriver.HaltReason.Step, Tag: IoExit } && RegisterNames.TryGet(name, out GuestRegister stepped, out _, out _) && stepped == GuestRegister.Rip)
        {
            throw new SessionException(
                "this halt ends a step right after an I/O instruction, inside its exit (the engine is still in that instruction's code): RIP cannot be moved here. Step once more or continue, then set it.",
                Protocol.Messages.Status.InvalidArgument);
        }

        if (Vm.CurrentHalt is { Exit: IoExit } or { GuestEvent: { Kind: GuestEventKinds.Cpuid } } && RegisterNames.TryGet(name, out GuestRegister register, out _, out _) && register == GuestRegister.Rip)
        {
            throw new SessionException(
                $"this halt is inside {(Vm.CurrentHalt?.Exit is IoExit ? "an I/O instruction (an I/O event's exit)" : "a CPUID instruction (a !cpuid event)")}: RIP cannot be moved until it completes. Use 'events sc on' then 'g' to skip it, or set RIP at a break-in or an initial break.",
                Protocol.Messages.Status.InvalidArgument);
        }

        RegisterNames.Write(Core(core), name, value, high);
        return true;
    });

    /// <summary>Reads guest memory: physical memory at any time (it is the machine's RAM, not the running core's
    /// state); virtual memory through <paramref name="core"/>'s paging only while halted.</summary>
    public byte[] ReadMemory(ulong address, int length, bool physical, int core = 0)
    {
        CheckLength(length);
        byte[] buffer = new byte[length];
        int n = physical ? Vm.Memory.Read(address, buffer) : WhileHalted("reading virtual memory", () => Core(core).ReadVirtual(address, buffer));
        return n == length ? buffer : buffer[..n];
    }

    /// <summary>Writes guest memory (halted only); returns the bytes written.</summary>
    public int WriteMemory(ulong address, ReadOnlySpan<byte> bytes, bool physical, int core = 0)
    {
        CheckLength(bytes.Length);
        byte[] data = bytes.ToArray();
        return WhileHalted("writing memory", () => physical ? Vm.WritePhysical(address, data) : Core(core).WriteVirtual(address, data));
    }

    private void CheckLength(int length)
    {
        if (length < 0 || length > Limits.MaxMemoryBytes)
        {
            throw new SessionException($"length {length:x} exceeds the limit of {Limits.MaxMemoryBytes:x} bytes per request.", Protocol.Messages.Status.LimitExceeded);
        }
    }

    /// <summary>Disassembles <paramref name="count"/> instructions at a virtual address in the core's current mode.</summary>
    public IReadOnlyList<(ulong Address, byte[] Bytes, string Text)> Disassemble(int core, ulong address, int count)
    {
        if (count < 1 || count > Limits.MaxDisassemblyInstructions)
        {
            throw new SessionException($"count {count:x} is out of range: 1 to {Limits.MaxDisassemblyInstructions:x} instructions.", Protocol.Messages.Status.LimitExceeded);
        }

        Vcpu c = Core(core);
        byte[] code = new byte[count * 15];
        int n = WhileHalted("disassembling", () => c.ReadVirtual(address, code));
        return Disassemble(c, address, code.AsSpan(0, n), count);
    }

    private static List<(ulong Address, byte[] Bytes, string Text)> Disassemble(Vcpu core, ulong address, ReadOnlySpan<byte> code, int count)
    {
        var result = new List<(ulong, byte[], string)>();
        byte[] bytes = code.ToArray();
        var decoder = Decoder.Create(core.CodeBitness(), new ByteArrayCodeReader(bytes), address);
        var formatter = new IntelFormatter();
        var output = new StringOutput();
        while (result.Count < count && decoder.IP < address + (ulong)bytes.Length)
        {
            decoder.Decode(out Instruction instr);
            if (instr.IsInvalid && decoder.LastError == DecoderError.NoMoreBytes)
            {
                break;
            }

            formatter.Format(instr, output);
            int offset = (int)(instr.IP - address);
            result.Add((instr.IP, bytes.AsSpan(offset, instr.Length).ToArray(), output.ToStringAndReset()));
        }

        return result;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Vm.Dispose();
        Events.Dispose();
        Outputs.Dispose();
        Messages.Dispose();
        _haltGate.Dispose();
    }
}
