// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Extension;

/// <summary><c>output</c>: forward events' script output to files, named pipes or TCP endpoints on the agent's machine
/// (spec 5, with the fixes of 9.24: files append or truncate, a closed source can be opened again, pipe/TCP messages
/// are one per line). Files are names inside the agent's <c>--output-dir</c>; pipes and TCP need the agent's
/// <c>--allow-output-connections</c>.</summary>
internal sealed class OutputCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["output"];

    public string Description => "create, open, close and list event-forwarding outputs";

    public IReadOnlyList<string> Syntax => ["output", "output create Name file|namedpipe|tcp Address [append|truncate]", "output open Name", "output close Name"];

    public IReadOnlyList<string> Examples => ["output create log file events.txt truncate", "output open log", "!ioout 3f8 script { printf(\"%c\", @al); } output {log}", "output close log"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        var request = new OutputRequest();
        if (arguments.Count == 0)
        {
            request.List = true;
        }
        else if (arguments[0].Is("create") && arguments.Count is 4 or 5)
        {
            bool truncate = arguments.Count == 5 && (arguments[4].Is("truncate") || (arguments[4].Is("append") ? false : throw Usage()));
            request.Create = new OutputCreate { Name = arguments[1].Value, Kind = arguments[2].Lower, Address = arguments[3].Value, Truncate = truncate };
        }
        else if (arguments[0].Is("open") && arguments.Count == 2)
        {
            request.Open = arguments[1].Value;
        }
        else if (arguments[0].Is("close") && arguments.Count == 2)
        {
            request.Close = arguments[1].Value;
        }
        else
        {
            throw Usage();
        }

        AgentToHost reply = await context.Session.SendAsync(new HostToAgent { Output = request }).ConfigureAwait(false);
        DebugSession.Check(reply.Output.Status, reply.Output.Message);
        if (request.BodyCase != OutputRequest.BodyOneofCase.List)
        {
            return;
        }

        if (reply.Output.Outputs.Count == 0)
        {
            context.Output.Line("output forwarding list is empty");
        }

        int index = 1;
        foreach (OutputInfo o in reply.Output.Outputs)
        {
            context.Output.Line($"{index++:x}  {o.Kind,-10} {o.State,-11} {o.Name}  ({o.Address}; {o.Sent} sent, {o.Lost} lost)");
        }
    }

    private CommandException Usage() => new($"incorrect use of 'output'.\nsyntax: {string.Join("\n        ", Syntax)}");
}
