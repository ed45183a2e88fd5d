// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Debugging;
using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Extension;

/// <summary>
/// <c>!monitor [va] Attributes FromAddress ToAddress|l Length [options]</c>: reads (r), writes (w) and execution (x) of
/// a virtual address range, as HyperDbg's command. The range is checked here (reversed, empty, too long) and again by
/// the agent, which also refuses pages that do not map. The options are those of <c>!ioout</c>.
/// </summary>
internal sealed class MonitorCommand : IDebuggerCommand
{
    /// <summary>The longest range (the agent's limit is the same).</summary>
    public const ulong MaxLength = 0x100_0000;

    private readonly EventOptions _options;

    public MonitorCommand()
    {
        // A number after the options is taken for a port, as the I/O events' parser always did here.
        _options = new EventOptions("!monitor", () => Syntax, EventOptions.Port);
    }

    public IReadOnlyList<string> Names => ["!monitor"];

    public string Description => "trap reads, writes or execution of a virtual address range";

    public IReadOnlyList<string> Syntax =>
    [
        "!monitor [va] r|w|x|rw|rx|wx|rwx FromAddress ToAddress|l Length [pid Pid|all] [core Core] [imm yes|no] [stage pre] [buffer Size]",
        "       [script { Script }] [script {file:Path}] [[asm] condition { Code }] [[asm] code { Code }] [output {Name[, Name...]}]",
    ];

    public IReadOnlyList<string> Examples =>
    [
        "!monitor w demo!current_pid demo!current_pid+7",
        "!monitor rw demo!current_pid l 8 script { printf(\"%llx accessed at %llx\\n\", $context, @rip); }",
        "!monitor x demo!print_name l 1",
    ];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        (uint access, string from, string? to, string? length, int optionsAt) = SplitRange(arguments);
        ulong start = await Address(context, from).ConfigureAwait(false);
        ulong end;
        if (length is not null)
        {
            ulong n = Numbers.TryParse(length, out ulong v) ? v : throw Error($"length '{length}' is invalid: a hex number");
            if (n == 0 || n > MaxLength)
            {
                throw Error($"length {n:x} is invalid: 1 to {MaxLength:x} bytes");
            }

            end = start + n - 1;
            if (end < start)
            {
                throw Error($"{start:x} l {n:x} runs past the end of the address space");
            }
        }
        else
        {
            end = await Address(context, to!).ConfigureAwait(false);
        }

        if (end < start)
        {
            throw Error($"the range is reversed: {start:x} is above {end:x}");
        }

        if (end - start >= MaxLength)
        {
            throw Error($"the range {start:x} to {end:x} is {end - start + 1:x} bytes: at most {MaxLength:x}");
        }

        EventRegistration r = _options.Parse([.. arguments.Skip(optionsAt)], context.Line, out IReadOnlyList<string> warnings);
        if (r.Stage != EventStage.Pre)
        {
            throw Error("only stage pre is supported: the engine cannot stop right after an access (see docs/differences.md)");
        }

        if (r.ShortCircuit)
        {
            throw Error("sc on is not supported: the engine cannot skip an access (see docs/differences.md)");
        }

        r.Direction = IoDirection.Unspecified;
        r.MonitorAccess = access;
        r.MonitorFrom = start;
        r.MonitorTo = end;
        await EventOptions.RegisterAsync(context, r, warnings).ConfigureAwait(false);
    }

    /// <summary>The positional part (before the first option): memory type, attributes, from, to or l length.</summary>
    internal (uint Access, string From, string? To, string? Length, int OptionsAt) SplitRange(IReadOnlyList<Token> args)
    {
        uint access = 0;
        var addresses = new List<string>();
        string? length = null;
        int i = 0;
        for (; i < args.Count && !args[i].IsBracket && !EventOptions.IsKeyword(args[i].Value); i++)
        {
            string t = args[i].Value;
            if (t.Equals("va", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (t.Equals("pa", StringComparison.OrdinalIgnoreCase))
            {
                throw Error("physical ranges (pa) are not supported: monitor the virtual addresses that map them (see !pa2va)");
            }

            if (access == 0 && addresses.Count == 0 && t.Length <= 3 && t.All(c => "rwxRWX".Contains(c, StringComparison.Ordinal)))
            {
                foreach (char c in t.ToLowerInvariant())
                {
                    access |= c switch { 'r' => 1u, 'w' => 2u, _ => 4u };
                }

                continue;
            }

            if (t.Equals("l", StringComparison.OrdinalIgnoreCase))
            {
                length = i + 1 < args.Count ? args[++i].Value : throw Error("l needs a length");
                continue;
            }

            addresses.Add(t.Replace("`", string.Empty, StringComparison.Ordinal));
        }

        if (access == 0)
        {
            throw Error("the attributes are missing: r, w, x or a combination (rw, rwx, ...)");
        }

        if (addresses.Count == 0 || addresses.Count + (length is null ? 0 : 1) != 2)
        {
            throw Error("give FromAddress and either ToAddress or l Length");
        }

        return (access, addresses[0], length is null ? addresses[1] : null, length, i);
    }

    private async Task<ulong> Address(CommandContext context, string text)
    {
        try
        {
            return await AddressParser.ParseAsync(context, text).ConfigureAwait(false);
        }
        catch (CommandException ex)
        {
            throw Error(ex.Message.TrimEnd('.'));
        }
    }

    private CommandException Error(string message) => new($"!monitor: {message}.\nsyntax: {string.Join("\n", Syntax)}");
}
