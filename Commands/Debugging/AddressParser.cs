// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Debugging;

/// <summary>Addresses in commands: a number (hex by default), a register (<c>@rip</c>, <c>rsp</c>) or a symbol
/// (<c>linux!start_kernel</c>), with an optional <c>+N</c> or <c>-N</c>.</summary>
internal static class AddressParser
{
    public static async Task<ulong> ParseAsync(CommandContext context, string text)
    {
        string t = text.Trim();
        int split = t.IndexOfAny(['+', '-'], 1);
        string head = split < 0 ? t : t[..split];
        ulong offset = split < 0 ? 0 : Numbers.Parse(t[(split + 1)..], "offset");
        ulong value;
        if (Numbers.TryParse(head, out ulong n) && !head.StartsWith('@'))
        {
            value = n;
        }
        else if (head.Contains('!', StringComparison.Ordinal))
        {
            value = await SymbolNames.AddressOfAsync(context, head).ConfigureAwait(false);
        }
        else
        {
            HaltedNotification halt = await context.RequireHaltAsync().ConfigureAwait(false);
            AgentToHost r = await context.Session.SendAsync(new HostToAgent { ReadRegisters = new ReadRegistersRequest { Core = halt.Core } }).ConfigureAwait(false);
            DebugSession.Check(r.ReadRegisters.Status, r.ReadRegisters.Message);
            if (!r.ReadRegisters.Registers.Values.TryGetValue(head.TrimStart('@').ToLowerInvariant(), out value))
            {
                throw new CommandException($"'{text}' is neither a number nor a register.");
            }
        }

        return split >= 0 && t[split] == '-' ? unchecked(value - offset) : unchecked(value + offset);
    }

    /// <summary>Parses <c>l COUNT</c> at <paramref name="index"/>, or returns the default.</summary>
    public static ulong Length(IReadOnlyList<Token> args, int index, ulong fallback, ulong max)
    {
        if (args.Count <= index)
        {
            return fallback;
        }

        if (!args[index].Is("l") || args.Count != index + 2)
        {
            throw new CommandException($"expected 'l COUNT' after the address, not '{args[index].Value}'.");
        }

        ulong n = Numbers.Parse(args[index + 1].Value, "count", max);
        return n == 0 ? throw new CommandException("the count must be at least 1.") : n;
    }
}
