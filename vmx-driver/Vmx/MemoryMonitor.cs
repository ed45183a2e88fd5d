// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>
/// A range of guest-linear memory watched for reads, writes or execution (<c>!monitor</c>, gdb's watchpoints), made by
/// <see cref="VirtualMachine.CreateMemoryMonitor"/>. Reads and writes are trapped on the physical pages the range mapped
/// to when it was made (page-granular, as HyperDbg's EPT hooks are) and filtered to the exact range; execution is
/// trapped by linear address.
/// </summary>
public sealed class MemoryMonitor
{
    private readonly (ulong Linear, ulong Physical)[] _pages;

    internal MemoryMonitor(ulong start, ulong end, MemoryAccessKinds access, (ulong Linear, ulong Physical)[] pages, object? owner)
    {
        Start = start;
        End = end;
        Access = access;
        _pages = pages;
        Owner = owner;
    }

    /// <summary>The first linear address watched.</summary>
    public ulong Start { get; }

    /// <summary>The last linear address watched (inclusive).</summary>
    public ulong End { get; }

    /// <summary>What is trapped.</summary>
    public MemoryAccessKinds Access { get; }

    /// <summary>Who made it (an event, a gdb client): the exit handler tells its monitors apart by this.</summary>
    public object? Owner { get; }

    /// <summary>The 4 KiB physical pages the range's linear pages mapped to, with their linear page.</summary>
    public IReadOnlyList<(ulong Linear, ulong Physical)> Pages => _pages;

    /// <summary>
    /// The linear address, inside the range, of an access of <paramref name="size"/> bytes at guest-physical
    /// <paramref name="physical"/>; false when no byte of the access is in the range.
    /// </summary>
    public bool TryMatchPhysical(ulong physical, int size, out ulong linear)
    {
        ulong last = physical + (ulong)Math.Max(size, 1) - 1;
        foreach ((ulong linearPage, ulong physicalPage) in _pages)
        {
            ulong pageLast = physicalPage + VirtualMachine.MonitorPageSize - 1;
            if (last < physicalPage || physical > pageLast)
            {
                continue;
            }

            // The access's bytes on this page, as linear addresses.
            ulong from = linearPage + (Math.Max(physical, physicalPage) - physicalPage);
            ulong to = linearPage + (Math.Min(last, pageLast) - physicalPage);
            if (to >= Start && from <= End)
            {
                linear = Math.Max(from, Start);
                return true;
            }
        }

        linear = 0;
        return false;
    }

    /// <summary>True when an instruction at the linear <paramref name="address"/> is in the range.</summary>
    public bool ContainsLinear(ulong address) => address >= Start && address <= End;
}
