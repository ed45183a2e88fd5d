// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Debugging;

/// <summary><c>eb ed eq ADDRESS VALUE...</c>: write bytes, dwords or qwords (little-endian) to virtual memory
/// (<c>!eb</c> etc.: physical). The debuggee must be halted.</summary>
internal sealed class MemoryEditCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["eb", "ed", "eq", "!eb", "!ed", "!eq"];

    public string Description => "edit memory (eb bytes, ed dwords, eq qwords; !eb... physical)";

    public IReadOnlyList<string> Syntax => ["eb|ed|eq Address Value [Value ...]"];

    public IReadOnlyList<string> Examples => ["eb 100000 90 90", "eq @rsp 0"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        string name = context.Line.TrimStart().Split(' ', 2)[0].ToLowerInvariant();
        bool physical = name.StartsWith('!');
        int unit = name[^1] switch { 'b' => 1, 'd' => 4, _ => 8 };
        if (arguments.Count < 2)
        {
            throw new CommandException($"{name} needs an address and at least one value.\nsyntax: {Syntax[0]}");
        }

        HaltedNotification halt = await context.RequireHaltAsync().ConfigureAwait(false);
        ulong address = await AddressParser.ParseAsync(context, arguments[0].Value).ConfigureAwait(false);
        ulong max = unit == 8 ? ulong.MaxValue : (1UL << (unit * 8)) - 1;
        var bytes = new List<byte>();
        foreach (Token t in arguments.Skip(1))
        {
            ulong v = Numbers.Parse(t.Value, "value", max);
            for (int i = 0; i < unit; i++)
            {
                bytes.Add((byte)(v >> (8 * i)));
            }
        }

        AgentToHost r = await context.Session.SendAsync(new HostToAgent { WriteMemory = new WriteMemoryRequest { Address = address, Data = Google.Protobuf.ByteString.CopyFrom([.. bytes]), Physical = physical, Core = halt.Core } }).ConfigureAwait(false);
        DebugSession.Check(r.WriteMemory.Status, r.WriteMemory.Message);
        if (r.WriteMemory.Written < bytes.Count)
        {
            throw new CommandException(r.WriteMemory.Message);
        }
    }
}
