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

    public IReadOnlyList<string> Examples => ["u", "u @rip l 4", "u 100000 l 10", "u linux!start_kernel"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        HaltedNotification halt = await context.RequireHaltAsync().ConfigureAwait(false);
        bool hasAddress = arguments.Count > 0 && !arguments[0].Is("l");
        ulong address = hasAddress ? await AddressParser.ParseAsync(context, arguments[0].Value).ConfigureAwait(false) : halt.Rip;
        ulong count = AddressParser.Length(arguments, hasAddress ? 1 : 0, 8, 256);
        AgentToHost r = await context.Session.SendAsync(new HostToAgent { Disassemble = new DisassembleRequest { Address = address, Count = (uint)count, Core = halt.Core } }).ConfigureAwait(false);
        DebugSession.Check(r.Disassemble.Status, r.Disassemble.Message);
        // As WinDbg: the symbol the first instruction lies in, and a label where an instruction starts a symbol.
        IReadOnlyList<NearestSymbol>? symbols = await SymbolNames.NearestAsync(context, [.. r.Disassemble.Instructions.Select(i => i.Address)]).ConfigureAwait(false);
        for (int k = 0; k < r.Disassemble.Instructions.Count; k++)
        {
            Instruction i = r.Disassemble.Instructions[k];
            if (symbols is not null && symbols[k].Found && (k == 0 || symbols[k].Address == i.Address))
            {
                context.Output.Line($"{SymbolNames.Describe(symbols[k], i.Address)}:");
            }

            string bytes = string.Join(' ', i.Bytes.Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
            context.Output.Line($"{SymbolNames.Format(i.Address)} {bytes,-24} {i.Text}");
        }
    }
}
