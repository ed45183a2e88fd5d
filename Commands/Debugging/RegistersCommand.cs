// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Formatting;
using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Commands.Scripting;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.Script;

namespace HyperDbgRemote.Commands.Debugging;

/// <summary><c>r</c>: show all registers; <c>r REG</c>: one; <c>r REG = VALUE</c>: change one (names are
/// case-insensitive here, unlike HyperDbg; parts such as al, ax, eax keep the other bits). Names are HyperDbg's (the
/// script engine's register table) plus fs_base, gs_base, efer and xmm0 … xmm15 (128 bits).</summary>
internal sealed class RegistersCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["r"];

    public string Description => "read or modify registers of the halted core";

    public IReadOnlyList<string> Syntax => ["r", "r Register", "r Register = Value", "r Register = Expression"];

    public IReadOnlyList<string> Examples => ["r", "r rax", "r @al = 42", "r rip=100010", "r rax = @rbx + dq(@rsp) * 2", "r xmm0", "r xmm1 = 112233445566778899aabbccddeeff00"];

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

            if (WireRegisters.TryParseXmm(name, out _))
            {
                UInt128 wide = ParseWide(expression, text);
                await WriteAsync(context, halt, name, (ulong)wide, (ulong)(wide >> 64)).ConfigureAwait(false);
                return;
            }

            if (Numbers.TryParse(expression, out ulong value))
            {
                await WriteAsync(context, halt, name, value, 0).ConfigureAwait(false);
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
        if (WireRegisters.TryParseXmm(one, out int xmm) && xmm < r.ReadRegisters.Xmm.Count && r.ReadRegisters.Xmm[xmm].Length == WireRegisters.XmmBytes)
        {
            UInt128 x = System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(r.ReadRegisters.Xmm[xmm].Span);
            context.Output.Line($"{one}={x:x32}");
            return;
        }

        if (values.TryGetValue(one, out ulong full))
        {
            context.Output.Line(RegisterFormatter.FormatOne(one, full));
            return;
        }

        // A part of a register (eax, r8d, r8h, cf, iopl, ...): its place in the full register, from the one table.
        if (ScriptRegisterInfo.TryParse(one, out ScriptRegister part)
            && ScriptRegisterInfo.Of(part) is var info
            && values.TryGetValue(ScriptRegisterInfo.NameOf(info.Full), out ulong holder))
        {
            context.Output.Line(RegisterFormatter.FormatOne(one, (holder >> info.Shift) & info.Mask));
            return;
        }

        throw new CommandException($"invalid register '{text}'.");
    }

    private static async Task WriteAsync(CommandContext context, HaltedNotification halt, string name, ulong value, ulong high)
    {
        AgentToHost w = await context.Session.SendAsync(new HostToAgent { WriteRegister = new WriteRegisterRequest { Core = halt.Core, Name = name, Value = value, ValueHigh = high } }).ConfigureAwait(false);
        DebugSession.Check(w.WriteRegister.Status, w.WriteRegister.Message);
    }

    /// <summary>A 128-bit value: hex digits (0x prefix and backticks allowed), up to 32 of them.</summary>
    private static UInt128 ParseWide(string text, string command)
    {
        string t = text.Replace("`", string.Empty, StringComparison.Ordinal).Trim();
        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            t = t[2..];
        }

        if (t.Length is 0 or > 32 || !UInt128.TryParse(t, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out UInt128 value))
        {
            throw new CommandException($"'r {command}': an xmm register takes a hex value of up to 32 digits (128 bits); expressions are 64-bit.");
        }

        return value;
    }
}
