// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Commands.Scripting;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Debugging;

/// <summary>
/// <c>bp ADDRESS [pid P] [core C] [script {...}]</c>: an exact code breakpoint at a virtual address or symbol
/// (HyperDbg's <c>bp</c>). <c>pid</c> and <c>core</c> filter it: elsewhere the instruction runs as if no breakpoint
/// were there. A script runs when it is hit, instead of the halt (HyperDbg's event rule); <c>pause()</c> halts.
/// </summary>
internal sealed class BreakpointCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["bp"];

    public string Description => "set a code breakpoint (the guest halts before the instruction executes)";

    public IReadOnlyList<string> Syntax => ["bp [Address] [pid Pid] [core Core] [script { Script }] [script {file:Path}]"];

    public IReadOnlyList<string> Examples =>
    [
        "bp fffff801`63a4c6e0",
        "bp demo!print_name",
        "bp @rip+5",
        "bp demo!print_name pid 2 core 0",
        "bp demo!print_name script { printf(\"pid %x at %llx\\n\", $pid, $context); }",
    ];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        (BreakpointRequest request, string address) = Parse(arguments);
        _ = await context.RequireHaltAsync().ConfigureAwait(false);
        request.Address = await AddressParser.ParseAsync(context, address).ConfigureAwait(false);
        BreakpointResponse response = await BreakpointRequests.SendAsync(context, request).ConfigureAwait(false);
        if (response.Message.Length > 0)
        {
            // Set, but no page maps the address now (a pending breakpoint): say so, a typo would never be hit.
            context.Output.Line(response.Message);
        }
    }

    /// <summary>A SET request's options and the address text (resolved by <see cref="RunAsync"/>); every mistake in
    /// the options is found here, before anything is sent.</summary>
    internal (BreakpointRequest Request, string Address) Parse(IReadOnlyList<Token> arguments)
    {
        var request = new BreakpointRequest { Action = BreakpointAction.Set };
        string? address = null;
        for (int i = 0; i < arguments.Count; i++)
        {
            Token t = arguments[i];
            string Value(string option) =>
                i + 1 < arguments.Count && !arguments[i + 1].IsBracket ? arguments[++i].Value : throw Error($"{option} needs a value");

            switch (t.IsBracket || t.IsQuoted ? string.Empty : t.Lower)
            {
                case "pid":
                    request.Pid = (uint)Number(Value("pid"), "pid", uint.MaxValue);
                    break;
                case "core":
                    request.Core = (uint)Number(Value("core"), "core", uint.MaxValue);
                    break;
                case "script":
                    request.Script = i + 1 < arguments.Count && arguments[i + 1].IsBracket ? arguments[++i].Value : throw Error("script needs a { ... } block");
                    if (request.Script.Trim().Length == 0)
                    {
                        throw Error("the script is empty");
                    }

                    break;
                case "tid":
                    throw Error("tid is not supported: our guests' threads are not known to the engine (filter by pid or core)");
                default:
                    if (t.IsBracket || t.IsQuoted || address is not null)
                    {
                        throw Error($"unknown parameter '{t.Value}'");
                    }

                    address = t.Value.Replace("`", string.Empty, StringComparison.Ordinal);
                    break;
            }
        }

        if (address is null)
        {
            throw Error("the address is missing");
        }

        if (request.Script.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            string path = request.Script[5..].Trim();
            string text = File.Exists(path) ? File.ReadAllText(path) : string.Empty;
            request.Script = text.Trim().Length > 0 ? text : throw Error($"script file '{path}' was not found or is empty");
        }

        if (request.Script.Length > 0)
        {
            if (HostScriptCheck.Check(request.Script, out Dictionary<string, string> includes) is string scriptError)
            {
                throw new CommandException($"bp: the script does not compile: {scriptError}");
            }

            request.ScriptIncludes.Add(includes);
        }

        return (request, address);
    }

    private CommandException Error(string message) => new($"bp: {message}.\nsyntax: {Syntax[0]}");

    private ulong Number(string text, string option, ulong max) =>
        Numbers.TryParse(text, out ulong v) && v <= max ? v : throw Error($"{option} '{text}' is invalid: a number from 0 to {max:x} (hex by default, 0n for decimal)");
}
