// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Agent.Wire;

/// <content>The guest's symbols: <c>x</c>, <c>ln</c>, and the names <c>u</c> and <c>k</c> print.</content>
internal sealed partial class RequestDispatcher
{
    private LookupSymbolsResponse LookupSymbols(LookupSymbolsRequest request, CancellationToken cancellationToken)
    {
        bool byPattern = request.Pattern.Length > 0;
        if (byPattern == (request.Addresses.Count > 0))
        {
            throw new SessionException("a symbol lookup takes either a pattern or addresses.", Status.InvalidArgument);
        }

        SymbolIndex index = _session.SymbolIndex;
        var response = new LookupSymbolsResponse { Status = Status.Ok };
        if (byPattern)
        {
            IReadOnlyList<(string Name, ulong Address)> matches = index.Match(request.Pattern, ProtocolLimits.MaxSymbolMatches, out bool more, cancellationToken);
            foreach ((string name, ulong address) in matches)
            {
                response.Matches.Add(new SymbolEntry { Name = name, Address = address });
            }

            response.MoreMatches = more;
            return response;
        }

        foreach (ulong address in request.Addresses)
        {
            var nearest = new NearestSymbol();
            if (index.Nearest(address) is var (name, at, nextName, nextAddress))
            {
                nearest.Found = true;
                nearest.Name = name;
                nearest.Address = at;
                if (nextName is not null)
                {
                    nearest.NextName = nextName;
                    nearest.NextAddress = nextAddress;
                }
            }

            response.Nearest.Add(nearest);
        }

        return response;
    }
}
