// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Debugging;

/// <summary><c>bc ID|all</c>: remove a breakpoint, or all of them (HyperDbg's <c>bc</c>).</summary>
internal sealed class BreakpointClearCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["bc"];

    public string Description => "remove a breakpoint, or all of them";

    public IReadOnlyList<string> Syntax => ["bc [Id|all]"];

    public IReadOnlyList<string> Examples => ["bc 1", "bc all"];

    public Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments) =>
        BreakpointRequests.ModifyAsync(context, arguments, "bc", BreakpointAction.Clear);
}
