// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Debugging;

/// <summary><c>u [ADDRESS] [l COUNT]</c>: disassemble (default: at RIP of the halted core, 8 instructions).</summary>
internal sealed class UnassembleCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["u"];

    public string Description => "disassemble instructions (Intel syntax)";

    public IReadOnlyList<string> Syntax => ["u [Address] [l Count]"];

    public IReadOnlyList<string> Examples => ["u", "u @rip l 4", "u 100000 l 10"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        HaltedNotification halt = await context.RequireHaltAsync().ConfigureAwait(false);
        bool hasAddress = arguments.Count > 0 && !arguments[0].Is("l");
        ulong address = hasAddress ? await AddressParser.ParseAsync(context, arguments[0].Value).ConfigureAwait(false) : halt.Rip;
        ulong count = AddressParser.Length(arguments, hasAddress ? 1 : 0, 8, 256);
        AgentToHost r = await context.Session.SendAsync(new HostToAgent { Disassemble = new DisassembleRequest { Address = address, Count = (uint)count, Core = halt.Core } }).ConfigureAwait(false);
        DebugSession.Check(r.Disassemble.Status, r.Disassemble.Message);
        foreach (Instruction i in r.Disassemble.Instructions)
        {
            string bytes = string.Join(' ', i.Bytes.Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
            context.Output.Line($"{i.Address >> 32:x8}`{i.Address & 0xFFFFFFFF:x8} {bytes,-24} {i.Text}");
        }
    }
}
