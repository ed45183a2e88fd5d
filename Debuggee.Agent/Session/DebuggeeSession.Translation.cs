// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver;

namespace HyperDbgRemote.Agent.Session;

/// <summary>Address translation on a halted core (<c>!pte</c>, <c>!va2pa</c>, <c>!pa2va</c>).</summary>
internal sealed partial class DebuggeeSession
{
    /// <summary>The most virtual addresses one <c>!pa2va</c> answer lists.</summary>
    public const int MaxVirtualAddresses = 16;

    /// <summary>The walk of <paramref name="address"/> through <paramref name="core"/>'s paging (halted only). Changes
    /// nothing in the guest (no accessed flags).</summary>
    public PageWalk WalkPageTables(int core, ulong address)
    {
        RequireHalted("translating an address");
        return Core(core).WalkPageTables(address);
    }

    /// <summary>The virtual addresses <paramref name="core"/>'s paging maps to <paramref name="physical"/>, lowest first
    /// (halted only).</summary>
    public IReadOnlyList<ulong> FindVirtualAddresses(int core, ulong physical, out bool truncated)
    {
        RequireHalted("translating an address");
        return Core(core).FindVirtualAddresses(physical, MaxVirtualAddresses, out truncated);
    }
}
