// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Commands.Scripting;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Debugging;

/// <summary><c>? SCRIPT</c> / <c>eval SCRIPT</c>: run a script on the halted core (spec 7.5).</summary>
internal sealed class EvaluateCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["?", "eval"];

    public string Description => "run a script on the halted core";

    public IReadOnlyList<string> Syntax => ["? Script", "? { Script }", "eval Script"];

    public IReadOnlyList<string> Examples => ["? printf(\"%llx\\n\", @rax);", "? { .count = .count + 1; print(.count); }"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        string line = context.Line.TrimStart();
        string script = line[(line.IndexOf(' ', StringComparison.Ordinal) is int sp && sp > 0 ? sp : line.Length)..].Trim();
        if (arguments.Count == 1 && arguments[0].IsBracket)
        {
            script = arguments[0].Value;
        }

        await RunScriptAsync(context, script).ConfigureAwait(false);
    }

    public static async Task RunScriptAsync(CommandContext context, string script)
    {
        if (script.Length == 0)
        {
            throw new CommandException("there is no script to run.");
        }

        if (HostScriptCheck.Check(script, out Dictionary<string, string> includes, out IReadOnlyList<string> warnings, context.Cancellation) is string error)
        {
            throw new CommandException($"the script does not compile: {error}");
        }

        foreach (string warning in warnings)
        {
            context.Output.Warning(warning);
        }

        HaltedNotification halt = await context.RequireHaltAsync().ConfigureAwait(false);
        AgentToHost r = await context.Session.SendAsync(new HostToAgent { EvaluateScript = new EvaluateScriptRequest { Script = script, Core = halt.Core, Includes = { includes } } }, context.Cancellation).ConfigureAwait(false);
        DebugSession.Check(r.EvaluateScript.Status, r.EvaluateScript.Message);
        context.Output.Text(r.EvaluateScript.Output);
    }
}
