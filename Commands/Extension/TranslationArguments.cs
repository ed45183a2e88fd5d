// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Debugging;
using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Extension;

/// <summary>
/// The arguments of <c>!pte</c>, <c>!va2pa</c> and <c>!pa2va</c> as HyperDbg parses them (<c>ADDRESS</c>, or with
/// <c>pid ID</c> before or after it), and their request to the halted core. On a halted debuggee HyperDbg refuses
/// <c>pid</c> (it would need a context switch); so do we: the translation uses the halted core's current CR3.
/// </summary>
internal static class TranslationArguments
{
    public static async Task<(ulong Address, TranslateAddressResponse Response)> SendAsync(CommandContext context, IReadOnlyList<Token> arguments, string name, string syntax, bool physical)
    {
        if (arguments.Count is not (1 or 3))
        {
            throw new CommandException($"incorrect use of the '{name}'.\nsyntax: {syntax}");
        }

        if (arguments.Count == 3)
        {
            if (!arguments[0].Is("pid") && !arguments[1].Is("pid"))
            {
                throw new CommandException($"incorrect use of the '{name}': expected 'pid ProcessId' next to the address.\nsyntax: {syntax}");
            }

            throw new CommandException($"{name}: 'pid' cannot be given on a halted debuggee (it would need a switch to another process's address space); the command translates through the halted core's current CR3. Switch CR3 with 'r cr3 = ...' to look at another address space.");
        }

        HaltedNotification halt = await context.RequireHaltAsync().ConfigureAwait(false);
        ulong address = await AddressParser.ParseAsync(context, arguments[0].Value).ConfigureAwait(false);
        AgentToHost r = await context.Session.SendAsync(new HostToAgent
        {
            TranslateAddress = new TranslateAddressRequest { Address = address, Physical = physical, Core = halt.Core },
        }).ConfigureAwait(false);
        DebugSession.Check(r.TranslateAddress.Status, r.TranslateAddress.Message);
        return (address, r.TranslateAddress);
    }
}
