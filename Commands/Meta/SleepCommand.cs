// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;

namespace HyperDbgRemote.Commands.Meta;

/// <summary><c>sleep MS</c>: the debugger waits (HyperDbg's command for scripts); notifications keep arriving meanwhile.</summary>
internal sealed class SleepCommand : IDebuggerCommand
{
    /// <summary>The longest sleep, so a typo cannot hang a script for hours.</summary>
    public const ulong MaxMilliseconds = 600_000;

    public IReadOnlyList<string> Names => ["sleep"];

    public string Description => "wait for a number of milliseconds (in scripts: let the guest run)";

    public IReadOnlyList<string> Syntax => ["sleep Milliseconds"];

    public IReadOnlyList<string> Examples => ["sleep 0n500", "sleep 3e8"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        if (arguments.Count != 1 || !Numbers.TryParse(arguments[0].Value, out ulong ms) || ms > MaxMilliseconds)
        {
            throw new CommandException($"sleep takes one number of milliseconds from 0 to {MaxMilliseconds:x} (hex by default, 0n for decimal).\nsyntax: sleep Milliseconds");
        }

        await Task.Delay(TimeSpan.FromMilliseconds(ms)).ConfigureAwait(false);
    }
}
