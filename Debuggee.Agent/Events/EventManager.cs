// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Protocol;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Sandbox;

namespace HyperDbgRemote.Agent.Events;

/// <summary>
/// The agent's <c>!ioout</c>/<c>!ioin</c> events: registration (validated again: never trust the host), enable,
/// disable, clear, the I/O bitmaps of every core, and the VM-exit handler that matches events and runs their actions.
/// </summary>
/// <remarks>
/// Behaviour follows HyperDbg (spec sections 2–4) with the fixes of its section 9:
/// <list type="bullet">
/// <item>ids start at 0 and only successful registrations consume one;</item>
/// <item>bitmaps are recomputed from the enabled IN and OUT events together on every change (a disabled event costs
/// nothing; clearing the last <c>!ioin</c> keeps the <c>!ioout</c> ports);</item>
/// <item>a multi-byte access matches an event when any of its bytes is the watched port;</item>
/// <item>events run oldest first; a <c>pre</c> event never runs in the post pass;</item>
/// <item>the instruction is skipped when any matching event's short-circuit decision (its <c>sc</c> setting, changed
/// by <c>event_sc</c>) is on.</item>
/// </list>
/// The event list is copy-on-write: exits read a snapshot, the host thread swaps it.
/// </remarks>
internal sealed partial class EventManager : IVmExitHandler, IDisposable
{
    /// <summary>Largest <c>buffer N</c>.</summary>
    public const int MaxBufferSize = CodeSandbox.MaxBufferSize;

    private readonly ProtocolLimits _limits;
    private readonly object _gate = new();
    private readonly VirtualMachine _vm;
    private readonly IEventOutput _output;
    private readonly Lazy<CodeSandbox> _sandbox = new(() => new CodeSandbox());
    private RegisteredEvent[] _events = [];
    private int _nextId;

    public EventManager(VirtualMachine vm, IEventOutput output, ProtocolLimits? limits = null)
    {
        _vm = vm;
        _output = output;
        _limits = limits ?? ProtocolLimits.Default;
    }

    /// <summary>The events, oldest first.</summary>
    public IReadOnlyList<RegisteredEvent> Events => Volatile.Read(ref _events);

    /// <summary>Registers an event and applies it to the bitmaps at once.</summary>
    /// <exception cref="EventManagerException">The request is invalid; nothing changed and no id was consumed.</exception>
    public RegisteredEvent Register(IoEventSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Validate(spec);
        lock (_gate)
        {
            if (!_limits.TryAdmitEvent(_events.Length, out string? error))
            {
                throw new EventManagerException(error, Protocol.Messages.Status.LimitExceeded);
            }

            var registered = new RegisteredEvent(_nextId, spec);
            if (spec.Monitor is MonitorRange range)
            {
                Vcpu core = _vm.Cores[spec.Core ?? 0];
                try
                {
                    registered.Monitor = VirtualMachine.CreateMemoryMonitor(core, range.From, range.To, range.Access, registered);
                }
                catch (ArgumentException ex)
                {
                    throw new EventManagerException(ex.Message[..(ex.Message.IndexOf(" (Parameter", StringComparison.Ordinal) is int i and >= 0 ? i : ex.Message.Length)]);
                }
            }

            _nextId++;
            Volatile.Write(ref _events, [.. _events, registered]);
            ApplyBitmaps();
            return registered;
        }
    }

    private void Validate(IoEventSpec spec)
    {
        if (spec.Core is int core && (core < 0 || core >= _vm.Cores.Count))
        {
            throw new EventManagerException($"core {core:x} does not exist: the guest has {_vm.Cores.Count} core(s) (0 to {_vm.Cores.Count - 1:x}).");
        }

        if (spec.BufferSize < 0 || spec.BufferSize > MaxBufferSize)
        {
            throw new EventManagerException($"buffer {spec.BufferSize:x} is too large: at most {MaxBufferSize:x} bytes.");
        }

        if (spec.Monitor is not null && spec.Stage != IoEventStage.Pre)
        {
            throw new EventManagerException($"!monitor supports stage pre only: the engine cannot stop right after an access (see docs/differences.md).");
        }

        if (spec.Monitor is not null && spec.ShortCircuit)
        {
            throw new EventManagerException("!monitor does not support sc on: the engine cannot skip an access (see docs/differences.md).");
        }

        if (spec.GuestEvent is GuestEventFilter g)
        {
            ValidateGuestEvent(g);
            if (g.Kind == GuestEventKinds.Mode && spec.ProcessId is null)
            {
                throw new EventManagerException("!mode applies to one process: give its pid (HyperDbg's !mode needs one too).");
            }

            if (g.Kind == GuestEventKinds.Mode && spec.Stage != IoEventStage.Pre)
            {
                throw new EventManagerException("!mode has only the pre stage: a mode change has no emulation to come after (as HyperDbg's).");
            }
        }

        if (spec.ShortCircuit && spec.Stage != IoEventStage.Pre)
        {
            throw new EventManagerException($"sc on cannot be used with stage {spec.Stage.ToString().ToLowerInvariant()}: the instruction has already run in the post stage.");
        }

        if (spec.Outputs.Count > _limits.MaxOutputsPerEvent)
        {
            throw new EventManagerException($"the event names {spec.Outputs.Count} output sources; the limit is {_limits.MaxOutputsPerEvent}.", Protocol.Messages.Status.LimitExceeded);
        }

        if (!spec.Immediate && spec.Outputs.Count > 0)
        {
            throw new EventManagerException("imm no cannot be used with output: forwarded messages must be sent one by one.");
        }

        if (spec.Condition is { Length: 0 or > CodeSandbox.MaxCodeSize } || spec.Code is { Length: 0 or > CodeSandbox.MaxCodeSize })
        {
            throw new EventManagerException($"condition and code must be 1 to {CodeSandbox.MaxCodeSize} bytes.");
        }
    }

    /// <summary>The command of an event kind, for errors.</summary>
    private static string Name(GuestEventKinds kind) => kind switch
    {
        GuestEventKinds.MsrRead => "!msrread",
        GuestEventKinds.MsrWrite => "!msrwrite",
        GuestEventKinds.DebugRegister => "!dr",
        GuestEventKinds.Tsc => "!tsc",
        _ => "!pmc",
    };

    /// <summary>HyperDbg's ranges: a CPUID leaf is 32 bits, exceptions are vectors 0 to 1f (HyperDbg refuses 1f by an
    /// off-by-one), external interrupts 20 to ff and must be named (all of them would flood the debugger: HyperDbg
    /// refuses too).</summary>
    private static void ValidateGuestEvent(GuestEventFilter g)
    {
        switch (g.Kind)
        {
            case GuestEventKinds.Cpuid when g.Value > uint.MaxValue:
                throw new EventManagerException($"!cpuid: leaf {g.Value:x} is invalid: EAX is 0 to ffffffff.");
            case GuestEventKinds.Exception when g.Value > 0x1F:
                throw new EventManagerException($"!exception: vector {g.Value:x} is invalid: exceptions are vectors 0 to 1f (external interrupts: !interrupt).");
            case GuestEventKinds.Interrupt when g.Value is null:
                throw new EventManagerException("!interrupt needs a vector (20 to ff): every interrupt would stop the guest from making progress.");
            case GuestEventKinds.Interrupt when g.Value is < 0x20 or > 0xFF:
                throw new EventManagerException($"!interrupt: vector {g.Value:x} is invalid: external interrupts are vectors 20 to ff (exceptions: !exception).");
            case GuestEventKinds.Sysret when g.Value is not null:
                throw new EventManagerException("!sysret takes no value: which system call a SYSRET returns from is not known (HyperDbg's !sysret takes none either).");
            case GuestEventKinds.MsrRead or GuestEventKinds.MsrWrite when g.Value > uint.MaxValue:
                throw new EventManagerException($"{Name(g.Kind)}: MSR {g.Value:x} is invalid: ECX is 0 to ffffffff.");
            case GuestEventKinds.CrWrite when g.Value is not (0 or 4):
                throw new EventManagerException($"!crwrite: {(g.Value is ulong cr ? $"control register {cr:x} is not supported" : "give the control register")}: 0 for CR0 or 4 for CR4 (as HyperDbg's).");
            case GuestEventKinds.DebugRegister or GuestEventKinds.Tsc or GuestEventKinds.Pmc when g.Value is not null:
                throw new EventManagerException($"{Name(g.Kind)} takes no value (HyperDbg's takes none either).");
            case GuestEventKinds.Mode when g.Value is not (GuestEventFilter.ModeKernel or GuestEventFilter.ModeKernelAndUser or GuestEventFilter.ModeUser):
                throw new EventManagerException($"!mode: {(g.Value is ulong m ? $"mode {m:x} is invalid" : "give the mode")}: 0 (k, kernel), 3 (u, user) or 1 (ku, both).");
            case GuestEventKinds.Cpuid or GuestEventKinds.Exception or GuestEventKinds.Interrupt or GuestEventKinds.Syscall or GuestEventKinds.Sysret
                or GuestEventKinds.MsrRead or GuestEventKinds.MsrWrite or GuestEventKinds.CrWrite or GuestEventKinds.DebugRegister or GuestEventKinds.Tsc
                or GuestEventKinds.Pmc or GuestEventKinds.Mode:
                break;
            default:
                throw new EventManagerException($"guest event kind {g.Kind} is unknown.");
        }
    }

    /// <summary>Enables or disables an event (or all when <paramref name="id"/> is null).</summary>
    /// <exception cref="EventManagerException">Unknown id, or no events for "all".</exception>
    public void SetEnabled(int? id, bool enabled)
    {
        lock (_gate)
        {
            foreach (RegisteredEvent e in Select(id))
            {
                e.Enabled = enabled;
            }

            ApplyBitmaps();
        }
    }

    /// <summary>Clears an event (or all): it is gone, its ports stop trapping unless another event watches them.</summary>
    public void Clear(int? id)
    {
        lock (_gate)
        {
            RegisteredEvent[] remove = [.. Select(id)];
            Volatile.Write(ref _events, [.. _events.Where(e => !remove.Contains(e))]);
            ApplyBitmaps();
        }
    }

    private RegisteredEvent[] Select(int? id)
    {
        if (id is null)
        {
            if (_events.Length == 0)
            {
                throw new EventManagerException("there is no event.");
            }

            return _events;
        }

        RegisteredEvent? e = Array.Find(_events, x => x.Id == id);
        return e is null ? throw new EventManagerException($"event {id:x} does not exist (see 'events').") : [e];
    }

    /// <summary>Finds an event by id.</summary>
    public RegisteredEvent? Find(int id) => Array.Find(Volatile.Read(ref _events), x => x.Id == id);

    /// <summary>Recomputes every core's I/O bitmaps from the enabled events of both directions.</summary>
    private void ApplyBitmaps()
    {
        foreach (Vcpu core in _vm.Cores)
        {
            var wanted = new VmcsIoControls();
            foreach (RegisteredEvent e in _events)
            {
                if (!e.Enabled || e.Spec.Monitor is not null || e.Spec.GuestEvent is not null || (e.Spec.Core is int c && c != core.Index))
                {
                    continue;
                }

                if (e.Spec.Port is ushort port)
                {
                    wanted.SetPort(port, true);
                }
                else
                {
                    wanted.SetAll(true);
                }
            }

            wanted.BitmapA.CopyTo(core.Controls.BitmapA);
            wanted.BitmapB.CopyTo(core.Controls.BitmapB);
        }

        // The kinds of guest event the enabled events watch (nothing else pays for the others).
        GuestEventKinds trapped = GuestEventKinds.None;
        foreach (RegisteredEvent e in _events)
        {
            if (e.Enabled && e.Spec.GuestEvent is GuestEventFilter g)
            {
                trapped |= g.Kind;
            }
        }

        _vm.TrappedGuestEvents = trapped;

        // The monitors of enabled !monitor events are in force; those of disabled or cleared ones are not.
        RegisteredEvent[] events = _events;
        foreach (MemoryMonitor m in _vm.MemoryMonitors.Where(m => m.Owner is RegisteredEvent e && !(e.Enabled && events.Contains(e))).ToList())
        {
            _vm.RemoveMemoryMonitor(m);
        }

        foreach (RegisteredEvent e in events)
        {
            if (e.Enabled && e.Monitor is MemoryMonitor monitor)
            {
                _vm.AddMemoryMonitor(monitor);
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_sandbox.IsValueCreated)
        {
            _sandbox.Value.Dispose();
        }
    }
}
