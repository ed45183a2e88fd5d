// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Agent.Wire;
using HyperDbgRemote.Commands;

namespace HyperDbgRemote.Agent;

/// <summary>
/// <c>--script FILE</c>: debugger commands the agent runs itself before the guest starts, with no host attached
/// (register events, create and open outputs). The commands are the debugger's own (the same parser and checks),
/// run through an in-process connection to the agent's session; their output goes to standard error, so standard
/// output keeps its one ready line. A host that attaches later sees the events, the outputs and every message.
/// </summary>
internal static class HeadlessScript
{
    /// <summary>Runs the file; false (after the error was printed) when a command failed.</summary>
    public static async Task<bool> RunAsync(string path, DebuggeeSession session, NotificationHub hub, RequestDispatcher dispatcher, TextWriter log)
    {
        if (!File.Exists(path))
        {
            await log.WriteLineAsync($"hyperdbg-agent: --script: the file '{path}' does not exist.").ConfigureAwait(false);
            return false;
        }

        var output = new HostOutput(log, log, json: false);
        await using var debugger = new DebugSession(output);
        await debugger.AttachAsync(InProcessConnection.Attach(session, hub, dispatcher)).ConfigureAwait(false);
        var runner = new CommandRunner(debugger, output, interactive: false);
        return await runner.RunAsync(".script \"" + path + "\"").ConfigureAwait(false);
    }
}
