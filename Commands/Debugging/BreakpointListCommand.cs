// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Debugging;

/// <summary><c>bl</c>: the breakpoints as HyperDbg lists them (id, address, enabled/disabled), with their hits; an enabled
/// breakpoint set where nothing was mapped and not hit since shows "pending" (as <c>bp</c> reported it), and a gdb
/// client's breakpoint shows "gdb" (with its client's number) in the options column.</summary>
internal sealed class BreakpointListCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["bl"];

    public string Description => "list the breakpoints";

    public IReadOnlyList<string> Syntax => ["bl"];

    public IReadOnlyList<string> Examples => ["bl"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        if (arguments.Count != 0)
        {
            throw new CommandException("bl takes no arguments.\nsyntax: bl");
        }

        _ = await context.RequireHaltAsync().ConfigureAwait(false); // as HyperDbg: listed while the debuggee is halted
        BreakpointResponse r = await BreakpointRequests.SendAsync(context, new BreakpointRequest { Action = BreakpointAction.List }).ConfigureAwait(false);
        if (r.Breakpoints.Count == 0)
        {
            context.Output.Line("no breakpoints are set");
            return;
        }

        context.Output.Line("id   address             status     hits   options");
        context.Output.Line("--   -----------------   --------   ----   -------");
        foreach (BreakpointInfo b in r.Breakpoints)
        {
            context.Output.Line($"{b.BreakpointId:x2}   {b.Address >> 32:x8}`{b.Address & 0xFFFFFFFF:x8}   {Status(b)}   {Hits(b)}");
        }
    }

    /// <summary>enabled, disabled, or pending (enabled, set where nothing was mapped, not hit yet).</summary>
    private static string Status(BreakpointInfo b) => !b.Enabled ? "disabled" : b.Pending ? "pending " : "enabled ";

    /// <summary>The hits, then the options in their column when there are any (no trailing spaces).</summary>
    private static string Hits(BreakpointInfo b)
    {
        string hits = b.Hits.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        string options = Options(b);
        return options.Length == 0 ? hits : $"{hits,-4}   {options}";
    }

    /// <summary>The breakpoint's filters and script as <c>bp</c> takes them (the script on one line).</summary>
    private static string Options(BreakpointInfo b)
    {
        var parts = new List<string>();
        if (b.HasGdbClient)
        {
            parts.Add(b.GdbHardware ? $"gdb {b.GdbClient:x} hardware" : $"gdb {b.GdbClient:x}");
        }

        if (b.HasPid)
        {
            parts.Add($"pid {b.Pid:x}");
        }

        if (b.HasCore)
        {
            parts.Add($"core {b.Core:x}");
        }

        if (b.Script.Length > 0)
        {
            string oneLine = string.Join(' ', b.Script.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            parts.Add($"script {{ {oneLine} }}");
        }

        return string.Join(' ', parts);
    }
}
