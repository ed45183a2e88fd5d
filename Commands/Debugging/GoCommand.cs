// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Debugging;

/// <summary><c>g</c>: continue a halted debuggee.</summary>
internal sealed class GoCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["g"];

    public string Description => "continue the halted debuggee";

    public IReadOnlyList<string> Syntax => ["g"];

    public IReadOnlyList<string> Examples => ["g"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        if (arguments.Count != 0)
        {
            throw new CommandException("g takes no arguments.\nsyntax: g");
        }

        HaltedNotification halt = await context.RequireHaltAsync().ConfigureAwait(false);
        var request = new ContinueRequest();
        if (context.Session.PendingShortCircuit is bool sc)
        {
            request.ShortCircuit = sc;
        }

        // The setting applies to this halt only: it is spent by the attempt, whatever the answer, so a refused
        // 'events sc' never blocks every later 'g'.
        context.Session.PendingShortCircuit = null;
        AgentToHost r = await context.Session.SendAsync(new HostToAgent { Continue = request }).ConfigureAwait(false);
        DebugSession.Check(r.Continue.Status, r.Continue.Message);
        context.Session.MarkRunning(halt);
    }
}
