// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;
using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Debugging;

/// <summary><c>db dw dd dq ADDRESS [l COUNT]</c>: show memory as bytes, words, dwords or qwords (virtual addresses, through
/// the halted core's paging; <c>!db</c> etc. read physical memory).</summary>
internal sealed class MemoryDisplayCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["db", "dw", "dd", "dq", "!db", "!dw", "!dd", "!dq"];

    public string Description => "display memory (db bytes, dw words, dd dwords, dq qwords; !db... physical)";

    public IReadOnlyList<string> Syntax => ["db|dw|dd|dq Address [l Count]", "!db|!dw|!dd|!dq PhysicalAddress [l Count]"];

    public IReadOnlyList<string> Examples => ["db @rsp l 40", "dq 100000 l 4", "!db 0 l 10"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        string name = context.Line.TrimStart().Split(' ', 2)[0].ToLowerInvariant();
        bool physical = name.StartsWith('!');
        int unit = name[^1] switch { 'b' => 1, 'w' => 2, 'd' => 4, _ => 8 };
        if (arguments.Count == 0)
        {
            throw new CommandException($"{name} needs an address.\nsyntax: {Syntax[physical ? 1 : 0]}");
        }

        HaltedNotification halt = await context.RequireHaltAsync().ConfigureAwait(false);
        ulong address = await AddressParser.ParseAsync(context, arguments[0].Value).ConfigureAwait(false);
        ulong count = AddressParser.Length(arguments, 1, (ulong)(128 / unit), (ulong)(64 * 1024 / unit));
        AgentToHost r = await context.Session.SendAsync(new HostToAgent { ReadMemory = new ReadMemoryRequest { Address = address, Length = (uint)(count * (ulong)unit), Physical = physical, Core = halt.Core } }).ConfigureAwait(false);
        DebugSession.Check(r.ReadMemory.Status, r.ReadMemory.Message);
        byte[] data = r.ReadMemory.Data.ToByteArray();
        context.Output.Text(Format(address, data, unit));
        if (r.ReadMemory.Message.Length > 0)
        {
            context.Output.Line(r.ReadMemory.Message);
        }
    }

    /// <summary>WinDbg-style lines: address, 16 bytes of values, and for bytes the ASCII column.</summary>
    public static string Format(ulong address, byte[] data, int unit)
    {
        var sb = new StringBuilder();
        for (int line = 0; line < data.Length; line += 16)
        {
            ulong a = address + (ulong)line;
            sb.Append($"{a >> 32:x8}`{a & 0xFFFFFFFF:x8}  ");
            int end = Math.Min(line + 16, data.Length);
            for (int i = line; i + unit <= end; i += unit)
            {
                ulong v = 0;
                for (int b = unit - 1; b >= 0; b--)
                {
                    v = (v << 8) | data[i + b];
                }

                sb.Append(v.ToString($"x{unit * 2}", System.Globalization.CultureInfo.InvariantCulture));
                sb.Append(unit == 1 && i == line + 7 ? '-' : ' ');
            }

            if (unit == 1)
            {
                sb.Append(new string(' ', (16 - (end - line)) * 3));
                sb.Append(' ');
                for (int i = line; i < end; i++)
                {
                    sb.Append(data[i] is >= 0x20 and < 0x7F ? (char)data[i] : '.');
                }
            }

            sb.Append('\n');
        }

        return sb.ToString();
    }
}
