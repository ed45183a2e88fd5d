// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Execution;

namespace HyperDbgRemote.VmxDriver;

/// <content>Memory monitors: reads and writes trapped on physical pages, execution on linear ranges.</content>
public sealed partial class VirtualMachine
{
    /// <summary>The granule of read/write monitoring (HyperDbg's EPT hooks work on 4 KiB pages).</summary>
    public const ulong MonitorPageSize = 0x1000;

    /// <summary>The largest range one monitor may cover.</summary>
    public const ulong MaxMonitorBytes = 0x100_0000;

    private readonly object _monitorGate = new();
    private MemoryMonitor[] _monitors = [];
    private int _monitorVersion;

    /// <summary>The monitors in force, oldest first.</summary>
    public IReadOnlyList<MemoryMonitor> MemoryMonitors => Volatile.Read(ref _monitors);

    /// <summary>
    /// Makes a monitor of the linear range [<paramref name="start"/>, <paramref name="end"/>] through
    /// <paramref name="core"/>'s paging as it is now (not yet in force: see <see cref="AddMemoryMonitor"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The range is reversed, larger than <see cref="MaxMonitorBytes"/>, asks for
    /// nothing, or (for reads and writes) a page of it does not map; the message says which.</exception>
    public static MemoryMonitor CreateMemoryMonitor(Vcpu core, ulong start, ulong end, MemoryAccessKinds access, object? owner = null)
    {
        ArgumentNullException.ThrowIfNull(core);
        if (access == MemoryAccessKinds.None || (access & ~(MemoryAccessKinds.Read | MemoryAccessKinds.Write | MemoryAccessKinds.Execute)) != 0)
        {
            throw new ArgumentException("a monitor needs at least one of read, write and execute.", nameof(access));
        }

        if (end < start)
        {
            throw new ArgumentException($"the range is reversed: 0x{start:x} is above 0x{end:x}.", nameof(end));
        }

        if (end - start >= MaxMonitorBytes)
        {
            throw new ArgumentException($"the range 0x{start:x} to 0x{end:x} is 0x{end - start + 1:x} bytes; at most 0x{MaxMonitorBytes:x} may be monitored at once.", nameof(end));
        }

        var pages = new List<(ulong Linear, ulong Physical)>();
        Span<byte> probe = stackalloc byte[1];
        for (ulong page = start & ~(MonitorPageSize - 1); page <= end; page += MonitorPageSize)
        {
            if (!core.TryTranslate(page, out ulong physical) || core.Machine.Memory.Read(physical & ~(MonitorPageSize - 1), probe) == 0)
            {
                // A page that does not map now cannot be hooked (HyperDbg: "invalid address").
                if ((access & (MemoryAccessKinds.Read | MemoryAccessKinds.Write)) != 0)
                {
                    throw new ArgumentException($"0x{Math.Max(page, start):x} does not map to guest memory on core {core.Index} (not present, non-canonical, or outside RAM).", nameof(start));
                }

                continue;
            }

            pages.Add((page, physical & ~(MonitorPageSize - 1)));
            if (page + MonitorPageSize < page)
            {
                break; // the top of the address space
            }
        }

        return new MemoryMonitor(start, end, access, [.. pages], owner);
    }

    /// <summary>Puts a monitor in force on every core: each picks it up before its next translation block.</summary>
    public void AddMemoryMonitor(MemoryMonitor monitor)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        ChangeMonitors(m => m.Contains(monitor) ? m : [.. m, monitor]);
    }

    /// <summary>Withdraws a monitor; false when it was not in force.</summary>
    public bool RemoveMemoryMonitor(MemoryMonitor monitor)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        bool removed = false;
        ChangeMonitors(m =>
        {
            removed = m.Contains(monitor);
            return removed ? [.. m.Where(x => x != monitor)] : m;
        });
        return removed;
    }

    internal int MonitorVersion => Volatile.Read(ref _monitorVersion);

    /// <summary>The engine hooks the monitors need: physical page ranges with read/write, linear execute ranges.</summary>
    internal (IReadOnlyList<(ulong Start, ulong End, MemoryAccessKinds Access)> Data, IReadOnlyList<(ulong Start, ulong End)> Execute) MonitorHooks()
    {
        MemoryMonitor[] monitors = Volatile.Read(ref _monitors);
        var pages = new Dictionary<ulong, MemoryAccessKinds>();
        var execute = new List<(ulong, ulong)>();
        foreach (MemoryMonitor m in monitors)
        {
            MemoryAccessKinds data = m.Access & (MemoryAccessKinds.Read | MemoryAccessKinds.Write);
            if (data != 0)
            {
                foreach ((_, ulong physical) in m.Pages)
                {
                    pages[physical] = pages.GetValueOrDefault(physical) | data;
                }
            }

            if ((m.Access & MemoryAccessKinds.Execute) != 0)
            {
                execute.Add((m.Start, m.End));
            }
        }

        return ([.. pages.OrderBy(p => p.Key).Select(p => (p.Key, p.Key + MonitorPageSize - 1, p.Value))], execute);
    }

    /// <summary>A read or write the engine trapped on a monitored page: filtered to the monitors' exact ranges, then given
    /// to the exit handler (on the core's thread, inside the access).</summary>
    internal void OnMonitoredData(Vcpu core, MemoryAccessKinds kind, ulong physical, int size, ulong value)
    {
        List<(MemoryMonitor, ulong)>? matches = null;
        foreach (MemoryMonitor m in Volatile.Read(ref _monitors))
        {
            if ((m.Access & kind) != 0 && m.TryMatchPhysical(physical, size, out ulong linear))
            {
                (matches ??= []).Add((m, linear));
            }
        }

        if (matches is not null && ExitHandler is IVmExitHandler handler)
        {
            ulong rip = core.LinearInstructionPointer();
            handler.OnMemoryAccess(new MemoryAccessExit(core, kind, rip, physical, size, value, matches));
        }
    }

    /// <summary>An instruction callback inside an execute monitor's range: true when the exit handler halted the VM.</summary>
    internal bool OnMonitoredExecution(Vcpu core, ulong linear)
    {
        List<(MemoryMonitor, ulong)>? matches = null;
        foreach (MemoryMonitor m in Volatile.Read(ref _monitors))
        {
            if ((m.Access & MemoryAccessKinds.Execute) != 0 && m.ContainsLinear(linear))
            {
                (matches ??= []).Add((m, linear));
            }
        }

        if (matches is null || ExitHandler is not IVmExitHandler handler)
        {
            return false;
        }

        var exit = new MemoryAccessExit(core, MemoryAccessKinds.Execute, linear, linear, 1, 0, matches);
        handler.OnMemoryAccess(exit);
        return exit.Halted;
    }

    internal bool HasExecuteMonitorAt(ulong linear)
    {
        foreach (MemoryMonitor m in Volatile.Read(ref _monitors))
        {
            if ((m.Access & MemoryAccessKinds.Execute) != 0 && m.ContainsLinear(linear))
            {
                return true;
            }
        }

        return false;
    }

    private void ChangeMonitors(Func<MemoryMonitor[], MemoryMonitor[]> change)
    {
        lock (_monitorGate)
        {
            MemoryMonitor[] current = _monitors;
            MemoryMonitor[] next = change(current);
            if (ReferenceEquals(next, current))
            {
                return;
            }

            Volatile.Write(ref _monitors, next);
            Interlocked.Increment(ref _monitorVersion);
        }

        foreach (Vcpu core in _cores)
        {
            core.RaiseAttention();
        }
    }
}
