// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Events;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.VmxDriver;

namespace HyperDbgRemote.Agent.Session;

/// <summary>
/// The session's code breakpoints by id, as HyperDbg numbers them (1, 2, 3 ... never reused in a session): the host's
/// (<c>bp</c>, <c>bl</c>, <c>bc</c>, <c>bd</c>, <c>be</c>) and the gdb client's (Z0/Z1), so <c>bl</c> lists both. An
/// enabled breakpoint is one of the VM's code breakpoints; a disabled one is kept here only. A gdb breakpoint is
/// changed only by its client (<c>bc</c>/<c>bd</c>/<c>be</c> refuse it) and goes when the client leaves. Changes pass
/// the session's halt gate (HyperDbg changes breakpoints while the debuggee is halted in the debugger); listing does not.
/// </summary>
internal sealed partial class BreakpointTable
{
    private readonly DebuggeeSession _session;
    private readonly object _gate = new();
    private readonly SortedDictionary<int, Breakpoint> _byId = [];

    /// <summary>References a departed gdb client still holds in <see cref="DebuggeeSession.BreakpointOwners"/>, by
    /// address: it left while the guest ran, when the VM's breakpoints cannot change; released at the next change.</summary>
    private readonly Dictionary<ulong, int> _stale = [];
    private int _lastId;

    public BreakpointTable(DebuggeeSession session)
    {
        _session = session;
    }

    /// <summary>One breakpoint: its id, linear address, state and how often it was hit (its filters matched).</summary>
    public sealed record Breakpoint(int Id, ulong Address, bool Enabled, long Hits)
    {
        /// <summary>What it applies to and does (<c>pid</c>, <c>core</c>, <c>script</c>); none: halts everywhere.</summary>
        public BreakpointOptions Options { get; init; } = BreakpointOptions.None;

        /// <summary>Set at an address no page mapped then (<c>bp</c> said "pending").</summary>
        public bool SetUnmapped { get; init; }

        /// <summary>Pending (gdb's word): set where nothing was mapped, and not hit since.</summary>
        public bool IsPending => SetUnmapped && Hits == 0;

        /// <summary>The gdb client that set it (Z0/Z1); null: the host's.</summary>
        public GdbOwner? Gdb { get; init; }
    }

    /// <summary>A gdb breakpoint's owner: the client's number (1, 2 ... in the order they attached) and whether it was a
    /// hardware breakpoint (Z1) rather than a software one (Z0).</summary>
    public sealed record GdbOwner(int Client, bool Hardware);

    /// <summary>What <c>bc</c>, <c>bd</c> or <c>be</c> did: the breakpoints changed, and (for <c>all</c>) the gdb
    /// client's breakpoints it left as they were.</summary>
    public sealed record ModifyResult(IReadOnlyList<Breakpoint> Changed, IReadOnlyList<Breakpoint> Kept);

    /// <summary>A breakpoint's filters and action: it is hit only on <paramref name="Core"/> and in process
    /// <paramref name="ProcessId"/> (null: any); with a script it runs the script and halts only when the script calls
    /// <c>pause()</c>, as HyperDbg's events do (a script replaces the break).</summary>
    public sealed record BreakpointOptions(uint? ProcessId, int? Core, string ScriptText, RegisteredEvent? Script)
    {
        public static BreakpointOptions None { get; } = new(null, null, string.Empty, null);
    }

    /// <summary>The halt's tag when a breakpoint halts the guest: its address and the host's breakpoint that halted it
    /// (null: only another debugger's, e.g. gdb's, is there).</summary>
    public sealed record HaltTag(ulong Address, int? BreakpointId);

    /// <summary>Every breakpoint, by id.</summary>
    public IReadOnlyList<Breakpoint> List()
    {
        lock (_gate)
        {
            return [.. _byId.Values];
        }
    }

    /// <summary>
    /// The VM's decision at a code breakpoint (<see cref="VirtualMachine.CodeBreakpointFilter"/>), on the reaching
    /// core's thread: when the enabled breakpoint at <paramref name="address"/> matches the core and the current process
    /// it counts a hit and runs its script; the halt's tag when the guest halts (our breakpoint without a script, or its
    /// script called <c>pause()</c>, or another debugger's breakpoint is at the address), else null.
    /// </summary>
    public object? Decide(Vcpu core, ulong address)
    {
        Breakpoint? b;
        int stale;
        lock (_gate)
        {
            b = _byId.Values.FirstOrDefault(b => b.Enabled && b.Gdb is null && b.Address == address);
            stale = _stale.GetValueOrDefault(address);
            foreach (Breakpoint g in _byId.Values.Where(g => g.Gdb is not null && g.Address == address).ToList())
            {
                _byId[g.Id] = g with { Hits = g.Hits + 1 };
            }
        }

        // A departed gdb client's references (not yet released: it left while the guest ran) do not halt.
        bool others = _session.BreakpointOwners.References(address) - stale > (b is null ? 0 : 1);
        int? halting = null;
        if (b is not null && Matches(b.Options, core))
        {
            lock (_gate)
            {
                if (_byId.TryGetValue(b.Id, out Breakpoint? now))
                {
                    _byId[b.Id] = now with { Hits = now.Hits + 1 };
                }
            }

            if (b.Options.Script is not RegisteredEvent script || _session.Events.RunBreakpointScript(script, core, address, b.Id))
            {
                halting = b.Id;
            }
        }

        return halting is not null || others ? new HaltTag(address, halting) : null;
    }

    private bool Matches(BreakpointOptions options, Vcpu core) =>
        (options.Core is not int c || c == core.Index)
        && (options.ProcessId is not uint pid || _session.Vm.OsProfile.Current(core).ProcessId == pid);

    /// <summary>Sets a breakpoint at a canonical linear address (halted only); its id.</summary>
    /// <exception cref="SessionException">Not halted, not canonical, one already there, a core that does not exist, or
    /// the limit is reached.</exception>
    public int Set(ulong address, CancellationToken cancellationToken = default) => Set(address, BreakpointOptions.None, cancellationToken).Id;

    /// <summary>
    /// Sets a breakpoint with filters and a script (see <see cref="BreakpointOptions"/>): its id, and the reason it is
    /// pending (null when the halted core's paging maps the address now). A breakpoint at an address no page maps now is
    /// set all the same, as gdb's pending breakpoints: the engine's hook is on the linear address, so it is hit once
    /// code there runs (a kernel not yet at its virtual address at the initial break, a process not yet started).
    /// </summary>
    /// <exception cref="SessionException">As <see cref="Set(ulong, CancellationToken)"/>.</exception>
    public (int Id, string? Pending) Set(ulong address, BreakpointOptions options, CancellationToken cancellationToken = default) => _session.WhileHalted("setting a breakpoint", () =>
    {
        ArgumentNullException.ThrowIfNull(options);
        CheckCanonical(address);
        if (options.Core is int core && (core < 0 || core >= _session.Vm.Cores.Count))
        {
            throw new SessionException($"core {core:x} does not exist: the guest has {_session.Vm.Cores.Count:x} core(s), 0 to {_session.Vm.Cores.Count - 1:x}.", Status.InvalidArgument);
        }

        lock (_gate)
        {
            ReleaseStale();
            if (_byId.Values.FirstOrDefault(b => b.Gdb is null && b.Address == address) is Breakpoint existing)
            {
                throw new SessionException($"breakpoint 0x{existing.Id:x} is already set at {address:x}.", Status.InvalidArgument);
            }

            CheckLimit();

            string? pending = Unmapped(address);
            _session.BreakpointOwners.Acquire(address);
            int id = ++_lastId;
            _byId[id] = new Breakpoint(id, address, Enabled: true, Hits: 0) { Options = options, SetUnmapped = pending is not null };
            return (id, pending is null ? null : $"breakpoint 0x{id:x} is pending: {pending}; it is hit when code there runs.");
        }
    }, cancellationToken);

    /// <summary>Clears, enables or disables one breakpoint or (id null) all of the host's (halted only): the ones
    /// changed, and the gdb client's that <c>all</c> left as they were.</summary>
    /// <exception cref="SessionException">Not halted, no breakpoint has that id, or it is the gdb client's (then
    /// nothing changes).</exception>
    public ModifyResult Modify(BreakpointAction action, int? id, CancellationToken cancellationToken = default) =>
        _session.WhileHalted(action switch
        {
            BreakpointAction.Clear => "clearing a breakpoint",
            BreakpointAction.Enable => "enabling a breakpoint",
            _ => "disabling a breakpoint",
        }, () =>
        {
            lock (_gate)
            {
                ReleaseStale();
                List<Breakpoint> targets;
                if (id is int one)
                {
                    targets = _byId.TryGetValue(one, out Breakpoint? b)
                        ? [b]
                        : throw new SessionException($"breakpoint 0x{one:x} does not exist (see 'bl').", Status.NotFound);
                    if (b.Gdb is not null)
                    {
                        throw new SessionException($"breakpoint 0x{one:x} belongs to the gdb client; remove it from gdb.", Status.InvalidArgument);
                    }
                }
                else
                {
                    targets = [.. _byId.Values.Where(b => b.Gdb is null)];
                }

                foreach (Breakpoint b in targets)
                {
                    Apply(action, b);
                }

                return new ModifyResult(targets, id is null ? [.. _byId.Values.Where(b => b.Gdb is not null)] : []);
            }
        }, cancellationToken);

    private void CheckLimit()
    {
        if (_byId.Count >= _session.Limits.MaxBreakpoints)
        {
            throw new SessionException($"{_byId.Count} breakpoints are set; the limit is {_session.Limits.MaxBreakpoints} (clear some with 'bc').", Status.LimitExceeded);
        }
    }

    private void Apply(BreakpointAction action, Breakpoint b)
    {
        switch (action)
        {
            case BreakpointAction.Clear:
                if (b.Enabled)
                {
                    _session.BreakpointOwners.Release(b.Address);
                }

                _byId.Remove(b.Id);
                break;
            case BreakpointAction.Enable when !b.Enabled:
                _session.BreakpointOwners.Acquire(b.Address);
                _byId[b.Id] = b with { Enabled = true };
                break;
            case BreakpointAction.Disable when b.Enabled:
                _session.BreakpointOwners.Release(b.Address);
                _byId[b.Id] = b with { Enabled = false };
                break;
            default:
                break;
        }
    }

    /// <summary>Why no instruction can be fetched at <paramref name="address"/> now (the halted core's paging does not
    /// map it), or null when one can.</summary>
    private string? Unmapped(ulong address)
    {
        Vcpu core = _session.Vm.CurrentHalt?.Core ?? _session.Core(0);
        Span<byte> one = stackalloc byte[1];
        return core.ReadVirtual(address, one) == 1 ? null : $"{address:x} is not mapped now (core {core.Index:x}'s page tables)";
    }

    /// <summary>Refuses a non-canonical address (bits 63:47 not all equal): no instruction can be fetched there.</summary>
    public static void CheckCanonical(ulong address)
    {
        ulong top = address >> 47;
        if (top != 0 && top != 0x1_FFFF)
        {
            throw new SessionException($"{address:x} is not a canonical address: no instruction can be there.", Status.InvalidArgument);
        }
    }
}
