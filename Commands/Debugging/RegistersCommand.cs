// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Formatting;
using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Commands.Scripting;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Debugging;

/// <summary><c>r</c>: show all registers; <c>r REG</c>: one; <c>r REG = VALUE</c>: change one (names are
/// case-insensitive here, unlike HyperDbg; parts such as al, ax, eax keep the other bits).</summary>
internal sealed class RegistersCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["r"];

    public string Description => "read or modify registers of the halted core";

    public IReadOnlyList<string> Syntax => ["r", "r Register", "r Register = Value", "r Register = Expression"];

    public IReadOnlyList<string> Examples => ["r", "r rax", "r @al = 42", "r rip=100010", "r rax = @rbx + dq(@rsp) * 2"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        HaltedNotification halt = await context.RequireHaltAsync().ConfigureAwait(false);
        string text = string.Concat(arguments.Select(a => a.Value + " ")).Trim();
        if (text.Contains('=', StringComparison.Ordinal))
        {
            int equals = text.IndexOf('=', StringComparison.Ordinal);
            string name = text[..equals].Trim().TrimStart('@').ToLowerInvariant();
            string expression = text[(equals + 1)..].Trim();
            if (name.Length == 0 || name.Contains(' ', StringComparison.Ordinal) || expression.Length == 0)
            {
                throw new CommandException($"'r {text}' is not 'r Register = Value' or 'r Register = Expression'.");
            }

            if (Numbers.TryParse(expression, out ulong value))
            {
                AgentToHost w = await context.Session.SendAsync(new HostToAgent { WriteRegister = new WriteRegisterRequest { Core = halt.Core, Name = name, Value = value } }).ConfigureAwait(false);
                DebugSession.Check(w.WriteRegister.Status, w.WriteRegister.Message);
                return;
            }

            // An expression is evaluated by the script engine on the halted core (HyperDbg: r rax = @rbx + 10).
            string script = $"@{name} = {expression};";
            if (HostScriptCheck.Check(script) is string error)
            {
                throw new CommandException($"'r {text}': {error}");
            }

            AgentToHost e = await context.Session.SendAsync(new HostToAgent { EvaluateScript = new EvaluateScriptRequest { Script = script, Core = halt.Core } }, context.Cancellation).ConfigureAwait(false);
            DebugSession.Check(e.EvaluateScript.Status, e.EvaluateScript.Message);
            return;
        }

        AgentToHost r = await context.Session.SendAsync(new HostToAgent { ReadRegisters = new ReadRegistersRequest { Core = halt.Core } }).ConfigureAwait(false);
        DebugSession.Check(r.ReadRegisters.Status, r.ReadRegisters.Message);
        Google.Protobuf.Collections.MapField<string, ulong> values = r.ReadRegisters.Registers.Values;
        if (text.Length == 0)
        {
            context.Output.Text(RegisterFormatter.FormatAll(n => values.TryGetValue(n, out ulong v) ? v : 0));
            return;
        }

        string one = text.TrimStart('@').ToLowerInvariant();
        if (values.TryGetValue(one, out ulong full))
        {
            context.Output.Line(RegisterFormatter.FormatOne(one, full));
            return;
        }

        ulong? part = Part(one, values);
        context.Output.Line(part is ulong p ? RegisterFormatter.FormatOne(one, p) : throw new CommandException($"invalid register '{text}'."));
    }

    private static ulong? Part(string name, Google.Protobuf.Collections.MapField<string, ulong> values)
    {
        string[] legacy = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"];
        foreach (string n in legacy)
        {
            ulong v = values["r" + n];
            if (name == "e" + n)
            {
                return v & 0xFFFF_FFFF;
            }

            if (name == n)
            {
                return v & 0xFFFF;
            }

            if (name == n[0] + "l" || name == n + "l")
            {
                return v & 0xFF;
            }

            if (name == n[0] + "h" && n[1] == 'x')
            {
                return (v >> 8) & 0xFF;
            }
        }

        return null;
    }
}
