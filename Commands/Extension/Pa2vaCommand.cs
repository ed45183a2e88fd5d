// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Extension;

/// <summary><c>!pa2va PA</c>: the virtual addresses the halted core's paging maps to a physical address, found by a
/// search of its paging structures, lowest first (HyperDbg prints one; a page mapped more than once gets a line
/// per mapping).</summary>
internal sealed class Pa2vaCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["!pa2va"];

    public string Description => "convert a physical address to the virtual addresses that map it (the halted core's paging)";

    public IReadOnlyList<string> Syntax => ["!pa2va PhysicalAddress"];

    public IReadOnlyList<string> Examples => ["!pa2va 1000", "!pa2va @rax"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        (_, TranslateAddressResponse r) = await TranslationArguments.SendAsync(context, arguments, Names[0], Syntax[0], physical: true).ConfigureAwait(false);
        if (r.VirtualAddresses.Count == 0)
        {
            throw new CommandException($"invalid address: no virtual address maps physical address {r.Physical:x} in the halted core's current paging.");
        }

        foreach (ulong va in r.VirtualAddresses)
        {
            context.Output.Line($"{va:x}");
        }

        if (r.MoreVirtualAddresses)
        {
            context.Output.Line($"(more mappings may exist; the first {r.VirtualAddresses.Count} are shown)");
        }
    }
}
