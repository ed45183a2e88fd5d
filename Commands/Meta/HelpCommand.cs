// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;
using HyperDbgRemote.Commands.Parsing;

namespace HyperDbgRemote.Commands.Meta;

/// <summary><c>help</c>: the commands; <c>help COMMAND</c>: its syntax and examples.</summary>
internal sealed class HelpCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["help", ".help"];

    public string Description => "list the commands, or show one command's syntax and examples";

    public IReadOnlyList<string> Syntax => ["help", "help Command"];

    public IReadOnlyList<string> Examples => ["help", "help !ioout"];

    public Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        context.Output.Text(arguments.Count == 0 ? Overview(context.Registry) : Detail(context.Registry, arguments[0].Value));
        return Task.CompletedTask;
    }

    public static string Overview(CommandRegistry registry)
    {
        var sb = new StringBuilder();
        foreach (IDebuggerCommand c in registry.All)
        {
            sb.Append($"{string.Join(", ", c.Names),-34} {c.Description}\n");
        }

        sb.Append("help COMMAND shows its syntax and examples.\n");
        return sb.ToString();
    }

    public static string Detail(CommandRegistry registry, string name)
    {
        IDebuggerCommand c = registry.Find(name) ?? throw new CommandException($"unknown command '{name}' (see 'help').");
        var sb = new StringBuilder();
        sb.Append($"{c.Names[0]}: {c.Description}\n\nsyntax:\n");
        foreach (string s in c.Syntax)
        {
            sb.Append($"  {s}\n");
        }

        sb.Append("\nexamples:\n");
        foreach (string e in c.Examples)
        {
            sb.Append($"  {e}\n");
        }

        return sb.ToString();
    }
}
