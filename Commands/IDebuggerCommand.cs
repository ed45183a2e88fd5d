// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;

namespace HyperDbgRemote.Commands;

/// <summary>One debugger command: its names, syntax, examples (for <c>help</c>) and how it runs.</summary>
internal interface IDebuggerCommand
{
    /// <summary>The names it answers to (the first is the main one).</summary>
    IReadOnlyList<string> Names { get; }

    /// <summary>One-line description.</summary>
    string Description { get; }

    /// <summary>Syntax lines.</summary>
    IReadOnlyList<string> Syntax { get; }

    /// <summary>Examples.</summary>
    IReadOnlyList<string> Examples { get; }

    /// <summary>Runs with the tokens after the command name; throws <see cref="CommandException"/> on bad input.</summary>
    Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments);
}
