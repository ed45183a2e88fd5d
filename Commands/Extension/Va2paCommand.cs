// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Extension;

/// <summary><c>!va2pa VA</c>: the physical address the halted core's paging maps a virtual address to (HyperDbg prints
/// it alone, in hex).</summary>
internal sealed class Va2paCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["!va2pa"];

    public string Description => "convert a virtual address to a physical address (the halted core's paging)";

    public IReadOnlyList<string> Syntax => ["!va2pa VirtualAddress"];

    public IReadOnlyList<string> Examples => ["!va2pa @rip", "!va2pa fffff80000001000", "!va2pa @rcx+5"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        (_, TranslateAddressResponse r) = await TranslationArguments.SendAsync(context, arguments, Names[0], Syntax[0], physical: false).ConfigureAwait(false);
        if (r.HasPhysical)
        {
            context.Output.Line($"{r.Physical:x}");
            return;
        }

        string why = r.NonCanonical ? "it is not canonical (an access raises #GP)"
            : $"the page is not mapped (a read raises #PF with error code {r.PageFault:x}; '!pte {arguments[0].Value}' shows the entries)";
        throw new CommandException($"invalid address: {arguments[0].Value} has no physical address: {why}.");
    }
}
