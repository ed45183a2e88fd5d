// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Debugging;

/// <summary><c>bd ID|all</c>: disable a breakpoint (kept in the list), or all of them (HyperDbg's <c>bd</c>).</summary>
internal sealed class BreakpointDisableCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["bd"];

    public string Description => "disable a breakpoint (kept in the list), or all of them";

    public IReadOnlyList<string> Syntax => ["bd [Id|all]"];

    public IReadOnlyList<string> Examples => ["bd 1", "bd all"];

    public Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments) =>
        BreakpointRequests.ModifyAsync(context, arguments, "bd", BreakpointAction.Disable);
}
