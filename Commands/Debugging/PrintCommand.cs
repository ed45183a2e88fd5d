// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;

namespace HyperDbgRemote.Commands.Debugging;

/// <summary><c>print EXPRESSION</c>: shorthand for <c>? print(EXPRESSION);</c>.</summary>
internal sealed class PrintCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["print"];

    public string Description => "print the value of an expression (hex)";

    public IReadOnlyList<string> Syntax => ["print Expression"];

    public IReadOnlyList<string> Examples => ["print @rax", "print dq(@rsp)"];

    public Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        string line = context.Line.TrimStart();
        string expression = line.Length > 5 ? line[5..].Trim() : string.Empty;
        return expression.Length == 0
            ? throw new CommandException("print needs an expression.\nsyntax: print Expression")
            : EvaluateCommand.RunScriptAsync(context, $"print({expression});");
    }
}
