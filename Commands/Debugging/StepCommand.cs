// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Debugging;

/// <summary><c>t [Count]</c>: step into, one instruction at a time on the current core while the other cores stay
/// halted (HyperDbg's <c>t</c>); each step shows the next instruction. A breakpoint or an event ends it early.</summary>
internal sealed class StepCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["t"];

    public string Description => "step into: execute one instruction (or Count) on the current core";

    public IReadOnlyList<string> Syntax => ["t [Count (hex)]"];

    public IReadOnlyList<string> Examples => ["t", "t 10"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        if (arguments.Count > 1)
        {
            throw new CommandException("t takes at most a count.\nsyntax: t [Count (hex)]");
        }

        uint count = arguments.Count == 0 ? 1 : (uint)Numbers.Parse(arguments[0].Value, "count", ProtocolLimits.MaxStepCount);
        if (count == 0)
        {
            throw new CommandException("the count must be at least 1.");
        }

        HaltedNotification halt = await context.RequireHaltAsync().ConfigureAwait(false);
        AgentToHost r = await context.Session.SendAsync(new HostToAgent { Step = new StepRequest { Core = halt.Core, Count = count } }).ConfigureAwait(false);
        DebugSession.Check(r.Step.Status, r.Step.Message);

        // Every step's halt comes as a notification too (and prints its instruction): wait until the last one has been
        // shown, so what the next command prints follows it.
        HaltedNotification last = r.Step.Halt;
        HaltedNotification seen = halt;
        for (uint i = 0; i <= r.Step.Steps; i++)
        {
            context.Session.MarkRunning(seen);
            seen = await context.Session.WaitForHaltAsync(context.Session.HaltWait, context.Cancellation).ConfigureAwait(false);
            if (seen.Reason == last.Reason && seen.Rip == last.Rip && seen.Core == last.Core)
            {
                return;
            }
        }
    }
}
