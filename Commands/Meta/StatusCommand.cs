// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Meta;

/// <summary><c>.status</c>: the connection, the debuggee's state and the I/O exits per port.</summary>
internal sealed class StatusCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => [".status"];

    public string Description => "show the connection, the debuggee's state and I/O exits per port";

    public IReadOnlyList<string> Syntax => [".status"];

    public IReadOnlyList<string> Examples => [".status"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        if (context.Session.Connection is null)
        {
            context.Output.Line("not connected");
            return;
        }

        AgentToHost r = await context.Session.SendAsync(new HostToAgent { Status = new StatusRequest() }).ConfigureAwait(false);
        DebugSession.Check(r.Status.Status, string.Empty);
        StatusResponse s = r.Status;
        context.Output.Line($"connected to {context.Session.Connection.Handshake.AgentName}: {s.Guest.Description}, {s.Guest.Cores} core(s)");
        if (s.OsProfile.Length > 0)
        {
            context.Output.Line($"processes: {s.OsProfile}");
        }

        context.Output.Line($"debuggee: {(s.Stopped ? "stopped (" + s.StopReason + ")" : s.Halted ? "halted" : "running")}; messages dropped: {s.DroppedMessages}");
        foreach (PortExitCount e in s.Exits)
        {
            context.Output.Line($"  port {e.Port:x4}: {e.Count} exits");
        }
    }
}
