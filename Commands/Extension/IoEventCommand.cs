// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Extension;

/// <summary>
/// <c>!ioout</c> / <c>!ioin</c> (HyperDbg spec 1.1–1.4): the port and the event options (<see cref="EventOptions"/>,
/// where the deliberate fixes are listed). Ports outside 0–ffff are errors, and a failed command consumes no event id
/// (the agent assigns ids).
/// </summary>
internal sealed class IoEventCommand : IDebuggerCommand
{
    private readonly bool _isIn;
    private readonly EventOptions _options;

    public IoEventCommand(bool isIn)
    {
        _isIn = isIn;
        _options = new EventOptions(Name, () => Syntax, EventOptions.Port);
    }

    private string Name => _isIn ? "!ioin" : "!ioout";

    public IReadOnlyList<string> Names => [Name];

    public string Description => _isIn ? "trap IN and INS instructions" : "trap OUT and OUTS instructions";

    public IReadOnlyList<string> Syntax =>
    [
        $"{Name} [Port] [pid Pid|all] [core Core] [imm yes|no] [sc on|off] [stage pre|post|all] [buffer Size]",
        "       [script { Script }] [script {file:Path}] [[asm] condition { Code }] [[asm] code { Code }] [output {Name[, Name...]}]",
    ];

    public IReadOnlyList<string> Examples =>
    [
        $"{Name} 3f8 script {{ printf(\"%c\", @al); }}",
        $"{Name} 80",
        $"{Name} 3f8 pid 1 core 0 sc on",
        $"{Name} 80 code {{ 48 c7 02 2a 00 00 00 }}",
        $"{Name} 80 asm condition {{ mov rax, [rcx]; and rax, 0xff; cmp rax, 0x10; sete al; movzx rax, al }}",
    ];

    public Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        EventRegistration registration = Parse(arguments, context.Line, out IReadOnlyList<string> warnings);
        return EventOptions.RegisterAsync(context, registration, warnings);
    }

    /// <summary>Parses the options into a registration; errors name the option, the value and show the syntax.</summary>
    public EventRegistration Parse(IReadOnlyList<Token> args, string commandText) => Parse(args, commandText, out _);

    /// <summary>As <see cref="Parse(IReadOnlyList{Token}, string)"/>, with the script compiler's warnings.</summary>
    public EventRegistration Parse(IReadOnlyList<Token> args, string commandText, out IReadOnlyList<string> warnings)
    {
        EventRegistration r = _options.Parse(args, commandText, out warnings);
        r.Direction = _isIn ? IoDirection.In : IoDirection.Out;
        return r;
    }
}
