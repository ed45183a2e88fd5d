// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Debugging;

/// <summary><c>pause</c>: break in, halting every core at an instruction boundary.</summary>
internal sealed class PauseCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["pause"];

    public string Description => "break in: halt every core of the running debuggee";

    public IReadOnlyList<string> Syntax => ["pause"];

    public IReadOnlyList<string> Examples => ["pause"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        if (arguments.Count != 0)
        {
            throw new CommandException("pause takes no arguments.");
        }

        if (context.Session.Halt is not null)
        {
            context.Output.Line("the debuggee is already halted");
            return;
        }

        // On the framed link the break-in byte goes first (an agent polling its line sees it at once), then the request.
        _ = context.Session.Connection is IBreakInSender link && link.TrySendBreakIn();
        AgentToHost r = await context.Session.SendAsync(new HostToAgent { Pause = new PauseRequest { TimeoutMs = 5000 } }).ConfigureAwait(false);
        if (r.Pause.Status != Status.AlreadyHalted)
        {
            DebugSession.Check(r.Pause.Status, r.Pause.Message);
        }

        await context.Session.WaitForHaltAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
    }
}
