// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Debugging;
using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Extension;

/// <summary>
/// <c>!epthook ADDRESS [options]</c> and <c>!epthook2 ADDRESS [options]</c>: HyperDbg's hidden hooks, events that
/// trigger when execution reaches the address, before the instruction there executes. Both are the engine's execute
/// trap on that one linear address (the mechanism of <c>!monitor x</c>): nothing is written to guest memory, so the
/// hook is as hidden as HyperDbg's EPT hooks, and <c>!epthook2</c>'s detour (HyperDbg's faster variant, with its page
/// and instruction limits) is not needed. The options are those of <c>!monitor</c>.
/// </summary>
internal sealed class EptHookCommand : IDebuggerCommand
{
    private readonly string _name;
    private readonly EventOptions _options;

    public EptHookCommand(bool detour)
    {
        _name = detour ? "!epthook2" : "!epthook";
        _options = new EventOptions(_name, () => Syntax, EventOptions.Port);
    }

    public IReadOnlyList<string> Names => [_name];

    public string Description => _name == "!epthook"
        ? "hidden hook: an event when execution reaches an address (no change to guest memory)"
        : "hidden hook, HyperDbg's detour variant: here the same trap as !epthook";

    public IReadOnlyList<string> Syntax =>
    [
        $"{_name} [Address] [pid Pid|all] [core Core] [imm yes|no] [stage pre] [buffer Size]",
        "       [script { Script }] [script {file:Path}] [[asm] condition { Code }] [[asm] code { Code }] [output {Name[, Name...]}]",
    ];

    public IReadOnlyList<string> Examples =>
    [
        $"{_name} demo!print_name",
        $"{_name} demo!print_name pid 2 script {{ printf(\"%c\", db(@rsi)); }}",
        $"{_name} nt!ExAllocatePoolWithTag core 0 asm condition {{ cmp rcx, 0; sete al; movzx rax, al }}",
    ];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        EventRegistration r = await ParseAsync(context, arguments).ConfigureAwait(false);
        await EventOptions.RegisterAsync(context, r, []).ConfigureAwait(false);
    }

    /// <summary>The registration: an execute monitor of the one address, with the event options.</summary>
    internal async Task<EventRegistration> ParseAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        (string address, EventRegistration r) = Parse(arguments, context.Line, out IReadOnlyList<string> warnings);
        ulong at;
        try
        {
            at = await AddressParser.ParseAsync(context, address).ConfigureAwait(false);
        }
        catch (CommandException ex)
        {
            throw Error(ex.Message.TrimEnd('.'));
        }

        r.MonitorFrom = at;
        r.MonitorTo = at;
        foreach (string warning in warnings)
        {
            context.Output.Warning(warning);
        }

        return r;
    }

    /// <summary>The address text and the options; every mistake in them is refused here, before anything is sent.</summary>
    internal (string Address, EventRegistration Registration) Parse(IReadOnlyList<Token> arguments, string line, out IReadOnlyList<string> warnings)
    {
        if (arguments.Count == 0 || arguments[0].IsBracket || arguments[0].IsQuoted || EventOptions.IsKeyword(arguments[0].Value))
        {
            throw Error("the address is missing (it comes first)");
        }

        string address = arguments[0].Value.Replace("`", string.Empty, StringComparison.Ordinal);
        for (int i = 1; i < arguments.Count; i++)
        {
            // Only options follow the address (the event parser would take a stray number for a port).
            Token t = arguments[i];
            if (t.IsBracket || t.IsQuoted || !EventOptions.IsKeyword(t.Value))
            {
                throw Error($"unknown parameter '{t.Value}' (one address only)");
            }

            if (!t.Is("asm") && i + 1 < arguments.Count)
            {
                i++; // its value or block, checked by the event parser
            }
        }

        EventRegistration r = _options.Parse([.. arguments.Skip(1)], line, out warnings);

        if (r.Stage != EventStage.Pre)
        {
            throw Error("only stage pre is supported: the hook runs before the instruction at the address executes");
        }

        if (r.ShortCircuit)
        {
            throw Error("sc on is not supported: the engine cannot skip the instruction at the address (see docs/differences.md)");
        }

        r.Direction = IoDirection.Unspecified;
        r.MonitorAccess = 4; // execute
        return (address, r);
    }

    private CommandException Error(string message) => new($"{_name}: {message}.\nsyntax: {string.Join("\n", Syntax)}");
}
