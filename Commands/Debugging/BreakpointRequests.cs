// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Debugging;

/// <summary>What <c>bp</c>, <c>bl</c>, <c>bc</c>, <c>bd</c> and <c>be</c> share: sending a breakpoint request and the
/// <c>ID|all</c> argument.</summary>
internal static class BreakpointRequests
{
    public static async Task<BreakpointResponse> SendAsync(CommandContext context, BreakpointRequest request)
    {
        AgentToHost r = await context.Session.SendAsync(new HostToAgent { Breakpoint = request }).ConfigureAwait(false);
        DebugSession.Check(r.Breakpoint.Status, r.Breakpoint.Message);
        return r.Breakpoint;
    }

    /// <summary><c>bc</c>, <c>bd</c>, <c>be</c>: one breakpoint by its id (hex, as <c>bl</c> lists it) or <c>all</c>.</summary>
    public static async Task ModifyAsync(CommandContext context, IReadOnlyList<Token> arguments, string name, BreakpointAction action)
    {
        if (arguments.Count != 1)
        {
            throw new CommandException($"{name} takes one breakpoint id (see 'bl') or 'all'.\nsyntax: {name} [Id|all]");
        }

        var request = new BreakpointRequest { Action = action };
        if (!arguments[0].Is("all"))
        {
            request.BreakpointId = (uint)Numbers.Parse(arguments[0].Value, "breakpoint id", uint.MaxValue);
        }

        _ = await context.RequireHaltAsync().ConfigureAwait(false);
        BreakpointResponse r = await SendAsync(context, request).ConfigureAwait(false);
        if (r.Message.Length > 0)
        {
            context.Output.Warning(r.Message); // "all" left the gdb client's breakpoints
        }
    }
}
