// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.VmxDriver;

namespace HyperDbgRemote.Agent.Session;

/// <summary>
/// The host's code breakpoints (<c>bp</c>, <c>bl</c>, <c>bc</c>, <c>bd</c>, <c>be</c>) by id, as HyperDbg numbers them
/// (1, 2, 3 ... never reused in a session). An enabled breakpoint is one of the VM's code breakpoints; a disabled one
/// is kept here only. Changes pass the session's halt gate (HyperDbg changes breakpoints while the debuggee is halted
/// in the debugger); listing does not.
/// </summary>
internal sealed class BreakpointTable
{
    private readonly DebuggeeSession _session;
    private readonly object _gate = new();
    private readonly SortedDictionary<int, Breakpoint> _byId = [];
    private int _lastId;

    public BreakpointTable(DebuggeeSession session)
    {
        _session = session;
    }

    /// <summary>One breakpoint: its id, linear address, state and how often it halted the guest.</summary>
    public sealed record Breakpoint(int Id, ulong Address, bool Enabled, long Hits);

    /// <summary>Every breakpoint, by id.</summary>
    public IReadOnlyList<Breakpoint> List()
    {
        lock (_gate)
        {
            return [.. _byId.Values];
        }
    }

    /// <summary>The id of the enabled breakpoint at <paramref name="address"/>, or null.</summary>
    public int? IdAt(ulong address)
    {
        lock (_gate)
        {
            return _byId.Values.FirstOrDefault(b => b.Enabled && b.Address == address)?.Id;
        }
    }

    /// <summary>Counts a hit of the breakpoint at <paramref name="address"/>; its id, or null when it is not ours.</summary>
    public int? Hit(ulong address)
    {
        lock (_gate)
        {
            Breakpoint? b = _byId.Values.FirstOrDefault(b => b.Enabled && b.Address == address);
            if (b is null)
            {
                return null;
            }

            _byId[b.Id] = b with { Hits = b.Hits + 1 };
            return b.Id;
        }
    }

    /// <summary>Sets a breakpoint at a canonical linear address (halted only); its id.</summary>
    /// <exception cref="SessionException">Not halted, not canonical, one already there, or the limit is reached.</exception>
    public int Set(ulong address, CancellationToken cancellationToken = default) => _session.WhileHalted("setting a breakpoint", () =>
    {
        CheckCanonical(address);
        lock (_gate)
        {
            if (_byId.Values.FirstOrDefault(b => b.Address == address) is Breakpoint existing)
            {
                throw new SessionException($"breakpoint 0x{existing.Id:x} is already set at {address:x}.", Status.InvalidArgument);
            }

            if (_byId.Count >= _session.Limits.MaxBreakpoints)
            {
                throw new SessionException($"{_byId.Count} breakpoints are set; the limit is {_session.Limits.MaxBreakpoints} (clear some with 'bc').", Status.LimitExceeded);
            }

            CheckMapped(address);
            _session.BreakpointOwners.Acquire(address);
            int id = ++_lastId;
            _byId[id] = new Breakpoint(id, address, Enabled: true, Hits: 0);
            return id;
        }
    }, cancellationToken);

    /// <summary>Clears, enables or disables one breakpoint or (id null) all of them (halted only); the ones changed.</summary>
    /// <exception cref="SessionException">Not halted, or no breakpoint has that id.</exception>
    public IReadOnlyList<Breakpoint> Modify(BreakpointAction action, int? id, CancellationToken cancellationToken = default) =>
        _session.WhileHalted(action switch
        {
            BreakpointAction.Clear => "clearing a breakpoint",
            BreakpointAction.Enable => "enabling a breakpoint",
            _ => "disabling a breakpoint",
        }, () =>
        {
            lock (_gate)
            {
                List<Breakpoint> targets;
                if (id is int one)
                {
                    targets = _byId.TryGetValue(one, out Breakpoint? b)
                        ? [b]
                        : throw new SessionException($"breakpoint 0x{one:x} does not exist (see 'bl').", Status.NotFound);
                }
                else
                {
                    targets = [.. _byId.Values];
                }

                foreach (Breakpoint b in targets)
                {
                    Apply(action, b);
                }

                return targets;
            }
        }, cancellationToken);

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

    /// <summary>Refuses an address the halted core's paging does not map (no instruction can be fetched there now).</summary>
    private void CheckMapped(ulong address)
    {
        Vcpu core = _session.Vm.CurrentHalt?.Core ?? _session.Core(0);
        Span<byte> one = stackalloc byte[1];
        if (core.ReadVirtual(address, one) != 1)
        {
            throw new SessionException($"{address:x} is not mapped (core {core.Index:x}'s page tables): no instruction can be fetched there.", Status.InvalidArgument);
        }
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
