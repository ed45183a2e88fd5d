// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Extension;

/// <summary><c>events</c>: list events; <c>events e|d|c ID|all</c>: enable, disable, clear; <c>events sc on|off</c>:
/// skip (or not) the instruction of the event that halted the debuggee, once.</summary>
internal sealed class EventsCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["events"];

    public string Description => "show and modify active and disabled events";

    public IReadOnlyList<string> Syntax => ["events", "events e|d|c EventId|all", "events sc on|off"];

    public IReadOnlyList<string> Examples => ["events", "events d 1", "events c all", "events sc on"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        DebugSession s = context.Session;
        if (arguments.Count == 0)
        {
            AgentToHost reply = await s.SendAsync(new HostToAgent { ListEvents = new ListEventsRequest() }).ConfigureAwait(false);
            if (reply.ListEvents.Events.Count == 0)
            {
                context.Output.Line("no active or disabled events");
            }

            foreach (EventInfo e in reply.ListEvents.Events)
            {
                string text = e.CommandText.Replace('\n', ' ');
                text = text.Length > 70 ? text[..70] + "..." : text;
                context.Output.Line($"{e.EventId:x}\t({(e.Enabled ? "enabled" : "disabled")})\t    {text}");
            }

            return;
        }

        if (arguments.Count != 2)
        {
            throw Usage();
        }

        if (arguments[0].Is("sc"))
        {
            bool on = arguments[1].Is("on") || (arguments[1].Is("off") ? false : throw Usage());
            HaltedNotification halt = await context.RequireHaltAsync().ConfigureAwait(false);
            if (halt.Reason != HaltReason.Event || halt.Stage != EventStage.Pre)
            {
                throw new CommandException(halt.Reason != HaltReason.Event
                    ? "events sc applies to a halt caused by an event (this halt is a break-in): no I/O instruction is pending."
                    : "events sc applies to the pre stage: in the post stage the instruction has already run.");
            }

            context.Session.PendingShortCircuit = on;
            context.Output.Line($"the instruction that caused this halt will {(on ? "be skipped" : "run")} when you continue");
            return;
        }

        EventAction action = arguments[0].Lower switch
        {
            "e" => EventAction.Enable,
            "d" => EventAction.Disable,
            "c" => EventAction.Clear,
            _ => throw Usage(),
        };
        var request = new ModifyEventRequest { Action = action };
        if (!arguments[1].Is("all"))
        {
            request.EventId = (uint)Numbers.Parse(arguments[1].Value, "event id", uint.MaxValue);
        }

        AgentToHost r = await s.SendAsync(new HostToAgent { ModifyEvent = request }).ConfigureAwait(false);
        DebugSession.Check(r.ModifyEvent.Status, r.ModifyEvent.Message);
    }

    private CommandException Usage() => new($"incorrect use of 'events'.\nsyntax: {string.Join("\n        ", Syntax)}");
}
