// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Debugging;

/// <summary><c>be ID|all</c>: enable a disabled breakpoint, or all of them (HyperDbg's <c>be</c>).</summary>
internal sealed class BreakpointEnableCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["be"];

    public string Description => "enable a disabled breakpoint, or all of them";

    public IReadOnlyList<string> Syntax => ["be [Id|all]"];

    public IReadOnlyList<string> Examples => ["be 1", "be all"];

    public Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments) =>
        BreakpointRequests.ModifyAsync(context, arguments, "be", BreakpointAction.Enable);
}
