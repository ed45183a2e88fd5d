// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Debugging;

/// <summary><c>bp ADDRESS</c>: an exact code breakpoint at a virtual address or symbol (HyperDbg's <c>bp</c>).</summary>
internal sealed class BreakpointCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["bp"];

    public string Description => "set a code breakpoint (the guest halts before the instruction executes)";

    public IReadOnlyList<string> Syntax => ["bp [Address]"];

    public IReadOnlyList<string> Examples => ["bp fffff801`63a4c6e0", "bp demo!print_name", "bp @rip+5"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        if (arguments.Count != 1)
        {
            throw new CommandException("bp takes one address.\nsyntax: bp [Address]");
        }

        _ = await context.RequireHaltAsync().ConfigureAwait(false);
        ulong address = await AddressParser.ParseAsync(context, arguments[0].Value.Replace("`", string.Empty, StringComparison.Ordinal)).ConfigureAwait(false);
        _ = await BreakpointRequests.SendAsync(context, new BreakpointRequest { Action = BreakpointAction.Set, Address = address }).ConfigureAwait(false);
    }
}
