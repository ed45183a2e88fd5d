// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Agent.Session;

/// <content>The gdb client's breakpoints (Z0/Z1): in the same list as the host's, with ids from the same counter, so
/// <c>bl</c> shows them; only their client changes them, and they go when it leaves.</content>
internal sealed partial class BreakpointTable
{
    /// <summary>Z0/Z1: gdb client <paramref name="client"/>'s breakpoint at a canonical linear address (halted only);
    /// its id. A host breakpoint at the same address is shared in the VM (each keeps its reference).</summary>
    /// <exception cref="SessionException">Not halted, not canonical, or the limit is reached.</exception>
    public int SetGdb(int client, ulong address, bool hardware, CancellationToken cancellationToken = default) => _session.WhileHalted("setting a breakpoint", () =>
    {
        CheckCanonical(address);
        lock (_gate)
        {
            ReleaseStale();
            CheckLimit();
            _session.BreakpointOwners.Acquire(address);
            int id = ++_lastId;
            _byId[id] = new Breakpoint(id, address, Enabled: true, Hits: 0) { Gdb = new GdbOwner(client, hardware) };
            return id;
        }
    }, cancellationToken);

    /// <summary>z0/z1: removes gdb client <paramref name="client"/>'s breakpoint of that kind at the address (halted
    /// only); false when it had none there.</summary>
    /// <exception cref="SessionException">Not halted.</exception>
    public bool ClearGdb(int client, ulong address, bool hardware, CancellationToken cancellationToken = default) => _session.WhileHalted("removing a breakpoint", () =>
    {
        lock (_gate)
        {
            ReleaseStale();
            var owner = new GdbOwner(client, hardware);
            if (_byId.Values.FirstOrDefault(b => b.Gdb == owner && b.Address == address) is not Breakpoint b)
            {
                return false;
            }

            _ = _session.BreakpointOwners.Release(address);
            _byId.Remove(b.Id);
            return true;
        }
    }, cancellationToken);

    /// <summary>
    /// gdb client <paramref name="client"/> detached or vanished: its breakpoints leave the list at once. Halted, the
    /// VM's breakpoints go too; running (they cannot change then), their references are released at the next change
    /// of breakpoints, and until then they halt no core. The count removed.
    /// </summary>
    public int RemoveGdbClient(int client)
    {
        try
        {
            return _session.WhileHalted("detaching", () => Remove(client, release: true));
        }
        catch (SessionException ex) when (ex.Status == Status.NotHalted)
        {
            return Remove(client, release: false);
        }
    }

    private int Remove(int client, bool release)
    {
        lock (_gate)
        {
            List<Breakpoint> gone = [.. _byId.Values.Where(b => b.Gdb?.Client == client)];
            foreach (Breakpoint b in gone)
            {
                _byId.Remove(b.Id);
                if (release)
                {
                    _ = _session.BreakpointOwners.Release(b.Address);
                }
                else
                {
                    _stale[b.Address] = _stale.GetValueOrDefault(b.Address) + 1;
                }
            }

            if (release)
            {
                ReleaseStale();
            }

            return gone.Count;
        }
    }

    /// <summary>Releases a departed client's references (under the halt gate and <see cref="_gate"/>).</summary>
    private void ReleaseStale()
    {
        foreach ((ulong address, int n) in _stale)
        {
            for (int i = 0; i < n; i++)
            {
                _ = _session.BreakpointOwners.Release(address);
            }
        }

        _stale.Clear();
    }
}
