// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Google.Protobuf;
using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Commands.Scripting;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Extension;

/// <summary>
/// <c>!ioout</c> / <c>!ioin</c> (HyperDbg spec 1.1–1.4): options in any order, keywords case-insensitive, numbers hex
/// by default. Deliberate fixes: ports outside 0–ffff and numbers that overflow are errors, hex code accepts spaces,
/// <c>asm</c> applies only to the block it follows, <c>sc on</c> with <c>stage post|all</c> and <c>imm no</c> with
/// <c>output</c> are refused, and a failed command consumes no event id (the agent assigns ids).
/// </summary>
internal sealed class IoEventCommand : IDebuggerCommand
{
    private const byte Ret = 0xC3;
    private readonly bool _isIn;
    private readonly MonitorCommand? _monitor;
    private readonly GuestEventCommand? _guest;

    public IoEventCommand(bool isIn)
    {
        _isIn = isIn;
    }

    /// <summary>The options of <c>!monitor</c>, which are those of the I/O events (its range is parsed by it).</summary>
    internal IoEventCommand(MonitorCommand monitor)
    {
        _monitor = monitor;
    }

    /// <summary>The options of <c>!cpuid</c>, <c>!exception</c>, <c>!interrupt</c> and <c>!syscall</c>, which are those of
    /// the I/O events; their one positional value (leaf, vector, system call number) takes the port's place.</summary>
    internal IoEventCommand(GuestEventCommand guest)
    {
        _guest = guest;
    }


    /// <summary>The options of another event command at an address (<c>!epthook</c>, <c>!epthook2</c>): errors name
    /// it and show its syntax.</summary>
    internal IoEventCommand(EptHookCommand owner)
    {
        _owner = owner;
    }

    private readonly EptHookCommand? _owner;

    private string Name => _guest?.Name ?? (_owner is not null ? _owner.Names[0] : _monitor is not null ? "!monitor" : _isIn ? "!ioin" : "!ioout");

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

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        EventRegistration registration = Parse(arguments, context.Line, out IReadOnlyList<string> warnings);
        foreach (string warning in warnings)
        {
            context.Output.Warning(warning);
        }

        context.Session.RequireConnection();
        AgentToHost reply = await context.Session.SendAsync(new HostToAgent { RegisterEvent = new RegisterEventRequest { Event = registration } }, context.Cancellation).ConfigureAwait(false);
        DebugSession.Check(reply.RegisterEvent.Status, reply.RegisterEvent.Message);
        context.Output.Line($"event {reply.RegisterEvent.EventId:x} registered");
    }

    /// <summary>Parses the options into a registration; errors name the option, the value and show the syntax.</summary>
    public EventRegistration Parse(IReadOnlyList<Token> args, string commandText) => Parse(args, commandText, out _);

    /// <summary>As <see cref="Parse(IReadOnlyList{Token}, string)"/>, with the script compiler's warnings.</summary>
    public EventRegistration Parse(IReadOnlyList<Token> args, string commandText, out IReadOnlyList<string> warnings)
    {
        warnings = [];
        var r = new EventRegistration
        {
            Direction = _isIn ? IoDirection.In : IoDirection.Out,
            Immediate = true,
            Stage = EventStage.Pre,
            CommandText = commandText.Trim(),
        };
        bool nextAsm = false;
        bool portSeen = false;
        for (int i = 0; i < args.Count; i++)
        {
            Token t = args[i];
            string Value(string option)
            {
                if (i + 1 >= args.Count)
                {
                    throw Error($"{option} needs a value");
                }

                return args[++i].Value;
            }

            Token Block(string option)
            {
                if (i + 1 >= args.Count || !args[i + 1].IsBracket)
                {
                    throw Error($"{option} needs a {{ ... }} block");
                }

                return args[++i];
            }

            if (t.Is("asm"))
            {
                nextAsm = true;
                continue;
            }

            bool asm = nextAsm;
            nextAsm = false;
            switch (t.IsBracket ? string.Empty : t.Lower)
            {
                case "pid":
                    string pid = Value("pid");
                    if (pid.Equals("all", StringComparison.OrdinalIgnoreCase))
                    {
                        r.ClearPid();
                    }
                    else
                    {
                        r.Pid = (uint)Number(pid, "pid", uint.MaxValue);
                    }

                    break;
                case "core":
                    r.Core = (uint)Number(Value("core"), "core", uint.MaxValue);
                    break;
                case "imm":
                    r.Immediate = Choice(Value("imm"), "imm", "yes", "no");
                    break;
                case "sc":
                    r.ShortCircuit = Choice(Value("sc"), "sc", "on", "off");
                    break;
                case "stage":
                    string stage = Value("stage");
                    r.Stage = stage.ToLowerInvariant() switch
                    {
                        "pre" => EventStage.Pre,
                        "post" => EventStage.Post,
                        "all" => EventStage.All,
                        _ => throw Error($"stage '{stage}' is invalid: use pre, post or all"),
                    };
                    break;
                case "buffer":
                    r.BufferSize = (uint)Number(Value("buffer"), "buffer", 0x10000);
                    break;
                case "script":
                    r.Script = Block("script").Value;
                    break;
                case "condition":
                    r.Condition = Code(Block("condition").Value, asm, "condition");
                    break;
                case "code":
                    r.Code = Code(Block("code").Value, asm, "code");
                    break;
                case "output":
                    r.Outputs.Clear();
                    foreach (string name in Block("output").Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                    {
                        r.Outputs.Add(name);
                    }

                    if (r.Outputs.Count is 0 or > 5)
                    {
                        throw Error($"output lists {r.Outputs.Count} names: 1 to 5");
                    }

                    break;
                default:
                    if (asm)
                    {
                        throw Error("asm must come right before condition or code");
                    }

                    if (t.IsBracket || t.IsQuoted || portSeen || _guest is { TakesValue: false })
                    {
                        throw Error($"unknown parameter '{t.Value}'");
                    }

                    if (_guest is not null)
                    {
                        r.GuestEventFilter = Number(t.Value, _guest.ValueName, _guest.MaxValue);
                    }
                    else
                    {
                        r.Port = (uint)Number(t.Value, "port", 0xFFFF);
                    }

                    portSeen = true;
                    break;
            }
        }

        if (nextAsm)
        {
            throw Error("asm must come right before condition or code");
        }

        if (r.ShortCircuit && r.Stage != EventStage.Pre)
        {
            throw Error($"sc on cannot be used with stage {(r.Stage == EventStage.Post ? "post" : "all")}: the post stage comes after the instruction");
        }

        if (!r.Immediate && r.Outputs.Count > 0)
        {
            throw Error("imm no cannot be used with output: forwarded messages are sent one by one");
        }

        if (r.Script.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            string path = r.Script[5..].Trim();
            string text = File.Exists(path) ? File.ReadAllText(path) : string.Empty;
            if (text.Trim().Length == 0)
            {
                throw Error($"script file '{path}' was not found or is empty");
            }

            r.Script = text;
        }

        if (r.Script.Length > 0)
        {
            if (HostScriptCheck.Check(r.Script, out Dictionary<string, string> includes, out warnings) is string scriptError)
            {
                throw new CommandException($"{Name}: the script does not compile: {scriptError}");
            }

            r.ScriptIncludes.Add(includes);
        }

        return r;
    }

    private CommandException Error(string message) => new($"{Name}: {message}.\nsyntax: {string.Join("\n", _owner?.Syntax ?? _monitor?.Syntax ?? _guest?.Syntax ?? Syntax)}");

    private ulong Number(string text, string option, ulong max) =>
        Numbers.TryParse(text, out ulong v) && v <= max ? v : throw Error($"{option} '{text}' is invalid: a number from 0 to {max:x} (hex by default, 0n for decimal)");

    private bool Choice(string text, string option, string yes, string no) =>
        text.Equals(yes, StringComparison.OrdinalIgnoreCase) || (!text.Equals(no, StringComparison.OrdinalIgnoreCase)
            ? throw Error($"{option} '{text}' is invalid: use {yes} or {no}")
            : false);

    private CodeBlock Code(string text, bool asm, string option)
    {
        byte[] bytes;
        if (asm)
        {
            bytes = AsmBridge.Assemble(text, option, Error);
        }
        else
        {
            string hex = text.Replace("\\x", string.Empty, StringComparison.OrdinalIgnoreCase).Replace("0x", string.Empty, StringComparison.OrdinalIgnoreCase);
            hex = string.Concat(hex.Where(c => !char.IsWhiteSpace(c)));
            if (hex.Length == 0 || hex.Any(c => !char.IsAsciiHexDigit(c)))
            {
                throw Error($"{option} {{{text.Trim()}}} is not hex bytes (use asm {option} {{...}} for instructions)");
            }

            if (hex.Length % 2 == 1)
            {
                hex = "0" + hex;
            }

            bytes = Convert.FromHexString(hex);
        }

        // HyperDbg appends a RET to conditions and custom code.
        return new CodeBlock { MachineCode = ByteString.CopyFrom([.. bytes, Ret]), Source = text.Trim(), IsAsm = asm };
    }
}
