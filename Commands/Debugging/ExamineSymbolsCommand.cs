// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Debugging;

/// <summary><c>x PATTERN</c>: the guest's symbols whose names match (<c>*</c> and <c>?</c>, case-insensitive), by
/// address, as WinDbg's and HyperDbg's <c>x</c> print them.</summary>
internal sealed class ExamineSymbolsCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["x"];

    public string Description => "list the guest's symbols that match a pattern (* and ?)";

    public IReadOnlyList<string> Syntax => ["x [Module!]Name"];

    public IReadOnlyList<string> Examples => ["x linux!start_*", "x demo!*", "x *serial*"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        if (arguments.Count != 1)
        {
            throw new CommandException($"usage: {Syntax[0]}");
        }

        string pattern = arguments[0].Value;
        if (pattern.Length > ProtocolLimits.MaxSymbolPatternLength)
        {
            throw new CommandException($"the pattern is {pattern.Length} characters; the limit is {ProtocolLimits.MaxSymbolPatternLength}.");
        }

        AgentToHost r = await context.Session.SendAsync(new HostToAgent { LookupSymbols = new LookupSymbolsRequest { Pattern = pattern } }).ConfigureAwait(false);
        if (r.BodyCase != AgentToHost.BodyOneofCase.LookupSymbols)
        {
            throw new CommandException("the agent does not look up symbols.");
        }

        DebugSession.Check(r.LookupSymbols.Status, r.LookupSymbols.Message);
        foreach (SymbolEntry s in r.LookupSymbols.Matches)
        {
            context.Output.Line($"{SymbolNames.Format(s.Address)}  {s.Name}");
        }

        if (r.LookupSymbols.MoreMatches)
        {
            context.Output.Line($"(the first {r.LookupSymbols.Matches.Count} matches are shown; narrow the pattern for the rest)");
        }
        else if (r.LookupSymbols.Matches.Count == 0)
        {
            context.Output.Line($"no symbol matches '{pattern}'");
        }
    }
}
