// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Extension;

/// <summary>
/// HyperDbg's <c>!cpuid [Eax]</c>, <c>!exception [Vector]</c>, <c>!interrupt Vector</c>, <c>!syscall [Number]</c> and
/// <c>!sysret</c>: events on CPUID, exceptions (vectors 0 to 1f), external interrupts (20 to ff), SYSCALL and SYSRET,
/// with the options of <c>!ioout</c>. $context is the leaf, the vector, the system call number (RAX) or the SYSRET's
/// address. <c>sc on</c> skips the CPUID's emulation (EAX to EDX keep what they were), the exception's or the
/// interrupt's delivery, or the SYSCALL or SYSRET (the guest goes on after the instruction). The agent checks the values
/// again.
/// </summary>
internal sealed class GuestEventCommand : IDebuggerCommand
{
    private readonly EventOptions _options;

    public GuestEventCommand(GuestEventKind kind)
    {
        Kind = kind;
        _options = new EventOptions(Name, () => Syntax, TakesValue ? new EventOptions.PositionalValue(ValueName, MaxValue, (r, v) => r.GuestEventFilter = v) : null);
    }

    public GuestEventKind Kind { get; }

    public string Name => Kind switch
    {
        GuestEventKind.Cpuid => "!cpuid",
        GuestEventKind.Exception => "!exception",
        GuestEventKind.Interrupt => "!interrupt",
        GuestEventKind.Syscall => "!syscall",
        _ => "!sysret",
    };

    /// <summary>What the positional value is called in errors.</summary>
    internal string ValueName => Kind switch
    {
        GuestEventKind.Cpuid => "leaf",
        GuestEventKind.Syscall => "system call number",
        _ => "vector",
    };

    /// <summary>False for <c>!sysret</c>, which takes no positional value (as HyperDbg's: which system call a SYSRET
    /// returns from is not known).</summary>
    internal bool TakesValue => Kind != GuestEventKind.Sysret;

    /// <summary>The largest positional value.</summary>
    internal ulong MaxValue => Kind switch
    {
        GuestEventKind.Cpuid => uint.MaxValue,
        GuestEventKind.Exception => 0x1F,
        GuestEventKind.Interrupt => 0xFF,
        _ => ulong.MaxValue,
    };

    public IReadOnlyList<string> Names => [Name];

    public string Description => Kind switch
    {
        GuestEventKind.Cpuid => "trap CPUID (all leaves, or the one in EAX); $context is the leaf",
        GuestEventKind.Exception => "trap exceptions (vectors 0 to 1f) before their delivery; $context is the vector",
        GuestEventKind.Interrupt => "trap an external interrupt (vector 20 to ff) before its delivery; $context is the vector",
        GuestEventKind.Syscall => "trap SYSCALL (all, or one system call number in RAX); $context is RAX",
        _ => "trap SYSRET (HyperDbg's EFER hook; the guest still reads its own EFER); $context is the SYSRET's address",
    };

    private string Positional => Kind switch
    {
        GuestEventKind.Cpuid => "[Eax] ",
        GuestEventKind.Exception => "[Vector] ",
        GuestEventKind.Interrupt => "Vector ",
        GuestEventKind.Syscall => "[SyscallNumber] ",
        _ => string.Empty,
    };

    public IReadOnlyList<string> Syntax =>
    [
        $"{Name} {Positional}[pid Pid|all] [core Core] [imm yes|no] [sc on|off] [stage pre|post|all] [buffer Size]",
        "       [script { Script }] [script {file:Path}] [[asm] condition { Code }] [[asm] code { Code }] [output {Name[, Name...]}]",
    ];

    public IReadOnlyList<string> Examples => Kind switch
    {
        GuestEventKind.Cpuid =>
        [
            "!cpuid",
            "!cpuid 40000000 sc on",
            "!cpuid 1 stage post script { @rcx = @rcx & 0xffffffff7fffffff; }",
        ],
        GuestEventKind.Exception =>
        [
            "!exception",
            "!exception e script { printf(\"page fault at %llx, cr2 %llx\\n\", @rip, @cr2); }",
            "!exception 3 core 0",
        ],
        GuestEventKind.Interrupt =>
        [
            "!interrupt 20",
            "!interrupt 20 script { printf(\"timer on core %x\\n\", $core); }",
        ],
        GuestEventKind.Syscall =>
        [
            "!syscall",
            "!syscall 3c",
            "!syscall script { printf(\"system call %llx in process %x\\n\", $context, $pid); }",
        ],
        _ =>
        [
            "!sysret",
            "!sysret pid 2",
            "!sysret stage post script { printf(\"back to %llx in process %x\\n\", @rip, $pid); }",
        ],
    };

    public Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        EventRegistration r = Parse(arguments, context.Line, out IReadOnlyList<string> warnings);
        return EventOptions.RegisterAsync(context, r, warnings);
    }

    /// <summary>The registration the command sends: the event options, the kind and its value.</summary>
    internal EventRegistration Parse(IReadOnlyList<Token> arguments, string line, out IReadOnlyList<string> warnings)
    {
        EventRegistration r = _options.Parse(arguments, line, out warnings);
        if (Kind == GuestEventKind.Interrupt)
        {
            if (!r.HasGuestEventFilter)
            {
                throw Error("give the vector (20 to ff): every interrupt would keep the guest from making progress");
            }

            if (r.GuestEventFilter < 0x20)
            {
                throw Error($"vector '{r.GuestEventFilter:x}' is an exception, not an external interrupt: 20 to ff (exceptions: !exception)");
            }
        }

        r.Direction = IoDirection.Unspecified;
        r.GuestEvent = Kind;
        return r;
    }

    private CommandException Error(string message) => new($"{Name}: {message}.\nsyntax: {string.Join("\n", Syntax)}");
}
