// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.VmxDriver;

namespace HyperDbgRemote.Agent.Wire;

/// <content>Address translation: <c>!pte</c>, <c>!va2pa</c> and <c>!pa2va</c>.</content>
internal sealed partial class RequestDispatcher
{
    private TranslateAddressResponse TranslateAddress(TranslateAddressRequest request)
    {
        int core = (int)Math.Min(request.Core, int.MaxValue);
        var response = new TranslateAddressResponse { Status = Status.Ok };
        if (request.Physical)
        {
            IReadOnlyList<ulong> found = _session.FindVirtualAddresses(core, request.Address, out bool truncated);
            response.PagingMode = ModeName(_session.Core(core).ReadPagingState().Mode);
            response.Physical = request.Address;
            response.VirtualAddresses.Add(found);
            response.MoreVirtualAddresses = truncated;
            return response;
        }

        PageWalk walk = _session.WalkPageTables(core, request.Address);
        response.PagingMode = ModeName(walk.Mode);
        foreach (PageTableEntry e in walk.Entries)
        {
            response.Entries.Add(new PageTableEntryValue { Level = (uint)e.Level, Address = e.Address, Value = e.Value });
        }

        if (walk.Physical is ulong physical)
        {
            response.Physical = physical;
            response.PageSize = walk.PageSize;
        }

        if (walk.Fault is PageFaultErrorCode fault)
        {
            response.PageFault = (uint)fault;
        }

        response.NonCanonical = walk.IsNonCanonical;
        return response;
    }

    private static string ModeName(PagingMode mode) => mode switch
    {
        PagingMode.None => "none",
        PagingMode.ThirtyTwoBit => "32-bit",
        PagingMode.Pae => "pae",
        _ => "4-level",
    };
}
