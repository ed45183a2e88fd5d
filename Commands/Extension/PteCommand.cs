// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Formatting;
using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Extension;

/// <summary><c>!pte VA</c>: every paging-structure entry the halted core's walk of a virtual address uses, with its
/// flags, as the CPU reads them (<see cref="PageTableFormatter"/>).</summary>
internal sealed class PteCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["!pte"];

    public string Description => "show the page-table entries that map a virtual address (the halted core's paging)";

    public IReadOnlyList<string> Syntax => ["!pte VirtualAddress"];

    public IReadOnlyList<string> Examples => ["!pte @rip", "!pte fffff80000001000", "!pte @rsp+8"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        (ulong va, TranslateAddressResponse r) = await TranslationArguments.SendAsync(context, arguments, Names[0], Syntax[0], physical: false).ConfigureAwait(false);
        if (r.NonCanonical)
        {
            throw new CommandException($"!pte: {va:x} is not a canonical address: every access to it raises #GP, no page table is used.");
        }

        context.Output.Text(PageTableFormatter.Format(va, r));
    }
}
