// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands;

/// <summary>What a command works with.</summary>
internal sealed class CommandContext
{
    public required DebugSession Session { get; init; }

    public required HostOutput Output { get; init; }

    public required CommandRegistry Registry { get; init; }

    /// <summary>True at the interactive prompt; false for -c, --script and .script.</summary>
    public bool Interactive { get; init; }

    /// <summary>The full command line as typed.</summary>
    public string Line { get; set; } = string.Empty;

    /// <summary>Cancelled when the user interrupts the command (Ctrl+C at a halted prompt): requests made for it pass it
    /// on, so the agent stops the work.</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>Runs a command line (for <c>.script</c>); returns false when it failed.</summary>
    public required Func<string, Task<bool>> RunLineAsync { get; init; }

    /// <summary>
    /// The current halt. At the prompt a running debuggee is an error; in a script the command waits for the next
    /// halt (a break event, a pause) for <see cref="DebugSession.HaltWait"/>.
    /// </summary>
    public async Task<HaltedNotification> RequireHaltAsync()
    {
        Session.RequireConnection();
        if (Session.Halt is HaltedNotification h)
        {
            return h;
        }

        if (Interactive)
        {
            throw new CommandException("the debuggee is running: use 'pause' (or Ctrl+C) to break in first.");
        }

        return await Session.WaitForHaltAsync(Session.HaltWait).ConfigureAwait(false);
    }

    /// <summary>The core commands act on: the halted core.</summary>
    public uint CurrentCore => Session.Halt?.Core ?? 0;
}
