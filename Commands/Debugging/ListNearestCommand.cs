// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Debugging;

/// <summary><c>ln ADDRESS</c>: the symbol an address lies in and the next one, as WinDbg prints it:
/// <c>(ffffffff`81a0f000)   linux!start_kernel+0x1a   |  (ffffffff`81a0f5a0)   linux!next</c>.</summary>
internal sealed class ListNearestCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["ln"];

    public string Description => "name the symbol an address lies in, and the next one";

    public IReadOnlyList<string> Syntax => ["ln [Address]"];

    public IReadOnlyList<string> Examples => ["ln", "ln @rip", "ln linux!start_kernel+20"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        if (arguments.Count > 1)
        {
            throw new CommandException($"usage: {Syntax[0]}");
        }

        ulong address = arguments.Count == 1
            ? await AddressParser.ParseAsync(context, arguments[0].Value).ConfigureAwait(false)
            : (await context.RequireHaltAsync().ConfigureAwait(false)).Rip;
        IReadOnlyList<NearestSymbol>? nearest = await SymbolNames.NearestAsync(context, [address]).ConfigureAwait(false);
        if (nearest is null)
        {
            throw new CommandException("the agent does not look up symbols.");
        }

        NearestSymbol n = nearest[0];
        if (!n.Found)
        {
            context.Output.Line($"no symbol at or below {address:x}");
            return;
        }

        string line = $"({SymbolNames.Format(n.Address)})   {SymbolNames.Describe(n, address)}";
        if (n.NextName.Length > 0)
        {
            line += $"   |  ({SymbolNames.Format(n.NextAddress)})   {n.NextName}";
        }

        context.Output.Line(line);
        if (n.Address == address)
        {
            context.Output.Line("Exact matches:");
            context.Output.Line($"    {n.Name}");
        }
    }
}
