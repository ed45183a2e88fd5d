// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Extension;

/// <summary>
/// HyperDbg's instruction events, with the options of <c>!ioout</c>: <c>!msrread [Msr]</c> and <c>!msrwrite [Msr]</c>
/// (RDMSR/WRMSR; $context is ECX), <c>!crwrite Cr [Mask]</c> (MOV to CR0 or CR4 changing a bit of the mask; $context is
/// the register's number), <c>!dr</c> (MOV to or from DRn), <c>!tsc</c> (RDTSC/RDTSCP; $context 0 or 1), <c>!pmc</c>
/// (RDPMC) and <c>!mode u|k|ku pid Pid</c> (the process entering user or kernel mode; $context 3 or 0). <c>sc on</c>
/// skips the instruction (<c>!mode</c>: holds the thread before its first instruction in the new mode, as HyperDbg blocks
/// it). The agent checks the values again.
/// </summary>
internal sealed class InstructionEventCommand : IDebuggerCommand
{
    private static readonly Dictionary<string, ulong> s_modes = new()
    {
        ["u"] = 3,
        ["k"] = 0,
        ["ku"] = 1,
        ["uk"] = 1,
    };

    private readonly EventOptions _options;

    public InstructionEventCommand(GuestEventKind kind)
    {
        Kind = kind;
        _options = new EventOptions(Name, () => Syntax, kind switch
        {
            GuestEventKind.MsrRead or GuestEventKind.MsrWrite => [new EventOptions.PositionalValue("msr", uint.MaxValue, (r, v) => r.GuestEventFilter = v)],
            GuestEventKind.CrWrite =>
            [
                new EventOptions.PositionalValue("control register", ulong.MaxValue, (r, v) => r.GuestEventFilter = v),
                new EventOptions.PositionalValue("mask", ulong.MaxValue, (r, v) => r.GuestEventMask = v),
            ],
            GuestEventKind.Mode => [new EventOptions.PositionalValue("mode", 3, (r, v) => r.GuestEventFilter = v) { Words = s_modes }],
            _ => [],
        });
    }

    public GuestEventKind Kind { get; }

    public string Name => Kind switch
    {
        GuestEventKind.MsrRead => "!msrread",
        GuestEventKind.MsrWrite => "!msrwrite",
        GuestEventKind.CrWrite => "!crwrite",
        GuestEventKind.DebugRegister => "!dr",
        GuestEventKind.Tsc => "!tsc",
        GuestEventKind.Pmc => "!pmc",
        _ => "!mode",
    };

    public IReadOnlyList<string> Names => [Name];

    public string Description => Kind switch
    {
        GuestEventKind.MsrRead => "trap RDMSR (all MSRs, or the one in ECX) before it executes; $context is ECX",
        GuestEventKind.MsrWrite => "trap WRMSR (all MSRs, or the one in ECX) before it executes; $context is ECX",
        GuestEventKind.CrWrite => "trap MOV to CR0 or CR4 that changes a bit of the mask (default: all); $context is the register's number",
        GuestEventKind.DebugRegister => "trap MOV to or from a debug register (DR0 to DR7)",
        GuestEventKind.Tsc => "trap RDTSC and RDTSCP; $context is 0 for RDTSC, 1 for RDTSCP",
        GuestEventKind.Pmc => "trap RDPMC",
        _ => "trap a process entering user mode (u), kernel mode (k) or either (ku); $context is 3 (user) or 0 (kernel)",
    };

    private string Positional => Kind switch
    {
        GuestEventKind.MsrRead or GuestEventKind.MsrWrite => "[Msr] ",
        GuestEventKind.CrWrite => "Cr [Mask] ",
        GuestEventKind.Mode => "u|k|ku ",
        _ => string.Empty,
    };

    public IReadOnlyList<string> Syntax =>
    [
        Kind == GuestEventKind.Mode
            ? $"{Name} {Positional}pid Pid [core Core] [imm yes|no] [sc on|off] [buffer Size]"
            : $"{Name} {Positional}[pid Pid|all] [core Core] [imm yes|no] [sc on|off] [stage pre|post|all] [buffer Size]",
        "       [script { Script }] [script {file:Path}] [[asm] condition { Code }] [[asm] code { Code }] [output {Name[, Name...]}]",
    ];

    public IReadOnlyList<string> Examples => Kind switch
    {
        GuestEventKind.MsrRead =>
        [
            "!msrread",
            "!msrread c0000082",
            "!msrread script { printf(\"rdmsr of %llx at %llx\\n\", $context, @rip); }",
        ],
        GuestEventKind.MsrWrite =>
        [
            "!msrwrite c0000100",
            "!msrwrite c0000080 sc on",
            "!msrwrite stage post script { printf(\"wrmsr %llx = %x`%08x\\n\", $context, @edx, @eax); }",
        ],
        GuestEventKind.CrWrite =>
        [
            "!crwrite 0",
            "!crwrite 0 10000",
            "!crwrite 4 script { printf(\"cr4 written at %llx\\n\", @rip); }",
        ],
        GuestEventKind.DebugRegister =>
        [
            "!dr",
            "!dr core 0 script { printf(\"debug register access at %llx\\n\", @rip); }",
        ],
        GuestEventKind.Tsc =>
        [
            "!tsc",
            "!tsc pid 2 stage post script { @rax = 0; @rdx = 0; }",
        ],
        GuestEventKind.Pmc =>
        [
            "!pmc",
            "!pmc sc on",
        ],
        _ =>
        [
            "!mode u pid 2",
            "!mode ku pid 1 script { printf(\"mode %llx at %llx\\n\", $context, @rip); }",
        ],
    };

    public Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        EventRegistration r = Parse(arguments, context.Line, out IReadOnlyList<string> warnings);
        return EventOptions.RegisterAsync(context, r, warnings);
    }

    /// <summary>The registration the command sends: the event options, the kind and its values.</summary>
    internal EventRegistration Parse(IReadOnlyList<Token> arguments, string line, out IReadOnlyList<string> warnings)
    {
        EventRegistration r = _options.Parse(arguments, line, out warnings);
        switch (Kind)
        {
            case GuestEventKind.CrWrite when !r.HasGuestEventFilter:
                throw Error("give the control register: 0 for CR0 or 4 for CR4");
            case GuestEventKind.CrWrite when r.GuestEventFilter is not (0 or 4):
                throw Error($"control register '{r.GuestEventFilter:x}' is not supported: 0 for CR0 or 4 for CR4 (as HyperDbg's)");
            case GuestEventKind.Mode when !r.HasGuestEventFilter:
                throw Error("give the mode: u (user), k (kernel) or ku (both)");
            case GuestEventKind.Mode when !r.HasPid:
                throw Error("give the process: !mode applies to one process (pid Pid), as HyperDbg's");
            case GuestEventKind.Mode when r.Stage != EventStage.Pre:
                throw Error("a mode change has only the pre stage (as HyperDbg's)");
            default:
                break;
        }

        r.Direction = IoDirection.Unspecified;
        r.GuestEvent = Kind;
        return r;
    }

    private CommandException Error(string message) => new($"{Name}: {message}.\nsyntax: {string.Join("\n", Syntax)}");
}
