// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Debugging;

/// <summary>The guest's symbols as the commands use them: names for addresses (<c>u</c>, <c>ln</c>, <c>k</c>) and
/// addresses for names (<c>u linux!start_kernel</c>).</summary>
internal static class SymbolNames
{
    /// <summary>The nearest symbol of each address, or null when the agent has no symbol support (an older agent:
    /// the commands then print addresses only).</summary>
    public static async Task<IReadOnlyList<NearestSymbol>?> NearestAsync(CommandContext context, IReadOnlyList<ulong> addresses)
    {
        if (addresses.Count == 0)
        {
            return [];
        }

        var request = new LookupSymbolsRequest();
        request.Addresses.Add(addresses);
        AgentToHost r = await context.Session.SendAsync(new HostToAgent { LookupSymbols = request }).ConfigureAwait(false);
        if (r.BodyCase != AgentToHost.BodyOneofCase.LookupSymbols || r.LookupSymbols.Status == Status.Unsupported)
        {
            return null;
        }

        DebugSession.Check(r.LookupSymbols.Status, r.LookupSymbols.Message);
        return r.LookupSymbols.Nearest.Count == addresses.Count
            ? r.LookupSymbols.Nearest
            : throw new CommandException($"the agent answered {r.LookupSymbols.Nearest.Count} symbols for {addresses.Count} addresses.");
    }

    /// <summary>The address of the symbol <paramref name="name"/> (<c>module!name</c>, case-insensitive, an exact
    /// spelling first).</summary>
    public static async Task<ulong> AddressOfAsync(CommandContext context, string name)
    {
        if (name.AsSpan().ContainsAny('*', '?'))
        {
            throw new CommandException($"'{name}': a symbol here names one address; use 'x {name}' to list matches.");
        }

        AgentToHost r = await context.Session.SendAsync(new HostToAgent { LookupSymbols = new LookupSymbolsRequest { Pattern = name } }).ConfigureAwait(false);
        if (r.BodyCase != AgentToHost.BodyOneofCase.LookupSymbols)
        {
            throw new CommandException($"the agent does not look up symbols; '{name}' cannot be used.");
        }

        DebugSession.Check(r.LookupSymbols.Status, r.LookupSymbols.Message);
        SymbolEntry? exact = r.LookupSymbols.Matches.FirstOrDefault(m => m.Name == name) ?? r.LookupSymbols.Matches.FirstOrDefault();
        return exact?.Address ?? throw new CommandException($"symbol '{name}' not found (the guest's symbols: 'x *!*').");
    }

    /// <summary><c>module!name</c> or <c>module!name+0x1a</c>.</summary>
    public static string Describe(NearestSymbol symbol, ulong address)
    {
        ulong offset = address - symbol.Address;
        return offset == 0 ? symbol.Name : $"{symbol.Name}+0x{offset:x}";
    }

    /// <summary>An address as the commands print it: <c>ffffffff`81000000</c>.</summary>
    public static string Format(ulong address) => $"{address >> 32:x8}`{address & 0xFFFFFFFF:x8}";
}
