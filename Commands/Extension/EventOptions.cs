// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Google.Protobuf;
using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Commands.Scripting;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Extension;

/// <summary>
/// HyperDbg's event options (spec 1.1–1.4), shared by every event command (<c>!ioout</c>, <c>!ioin</c>,
/// <c>!monitor</c>, <c>!epthook</c>, <c>!epthook2</c>, <c>!cpuid</c>, <c>!exception</c>, <c>!interrupt</c>,
/// <c>!syscall</c>, <c>!sysret</c>, <c>!msrread</c>, <c>!msrwrite</c>, <c>!crwrite</c>, <c>!dr</c>, <c>!tsc</c>, <c>!pmc</c>,
/// <c>!mode</c>): <c>pid</c>, <c>core</c>, <c>imm</c>, <c>sc</c>, <c>stage</c>, <c>buffer</c>,
/// <c>script</c>, <c>[asm] condition</c>, <c>[asm] code</c>, <c>output</c>, and the command's positional values (the port,
/// leaf, vector, system call number, MSR, control register and mask, mode) whose meaning the command gives. Options in any order, keywords
/// case-insensitive, numbers hex by default. Deliberate fixes: numbers out of range or that overflow are errors, hex
/// code accepts spaces, <c>asm</c> applies only to the block it follows, <c>sc on</c> with <c>stage post|all</c> and
/// <c>imm no</c> with <c>output</c> are refused. Errors name the command and show its syntax.
/// </summary>
internal sealed class EventOptions
{
    private const byte Ret = 0xC3;

    private static readonly HashSet<string> s_keywords = new(StringComparer.OrdinalIgnoreCase)
    {
        "pid", "core", "imm", "sc", "stage", "buffer", "script", "condition", "code", "output", "asm",
    };

    private readonly string _name;
    private readonly Func<IReadOnlyList<string>> _syntax;
    private readonly IReadOnlyList<PositionalValue> _values;

    /// <param name="name">The command, for errors.</param>
    /// <param name="syntax">The command's syntax, shown with errors.</param>
    /// <param name="value">The positional value, or null when the command takes none.</param>
    public EventOptions(string name, Func<IReadOnlyList<string>> syntax, PositionalValue? value)
        : this(name, syntax, value is null ? [] : [value])
    {
    }

    /// <param name="name">The command, for errors.</param>
    /// <param name="syntax">The command's syntax, shown with errors.</param>
    /// <param name="values">The positional values in their order (<c>!crwrite</c>'s register and mask).</param>
    public EventOptions(string name, Func<IReadOnlyList<string>> syntax, IReadOnlyList<PositionalValue> values)
    {
        _name = name;
        _syntax = syntax;
        _values = values;
    }

    /// <summary>The port of <c>!ioout</c>/<c>!ioin</c>: 0 to ffff.</summary>
    public static PositionalValue Port { get; } = new("port", 0xFFFF, (r, v) => r.Port = (uint)v);

    /// <summary>Whether a word is one of the options' keywords (where a command's own positional part ends).</summary>
    public static bool IsKeyword(string word) => s_keywords.Contains(word);

    /// <summary>Sends the registration and says which event id the agent gave it, after the parser's warnings.</summary>
    public static async Task RegisterAsync(CommandContext context, EventRegistration registration, IReadOnlyList<string> warnings)
    {
        foreach (string warning in warnings)
        {
            context.Output.Warning(warning);
        }

        context.Session.RequireConnection();
        AgentToHost reply = await context.Session.SendAsync(new HostToAgent { RegisterEvent = new RegisterEventRequest { Event = registration } }, context.Cancellation).ConfigureAwait(false);
        DebugSession.Check(reply.RegisterEvent.Status, reply.RegisterEvent.Message);
        context.Output.Line($"event {reply.RegisterEvent.EventId:x} registered");
    }

    /// <summary>Parses the options into a registration (direction, kind and range are the command's); the script
    /// compiler's warnings come back in <paramref name="warnings"/>.</summary>
    public EventRegistration Parse(IReadOnlyList<Token> args, string commandText, out IReadOnlyList<string> warnings)
    {
        warnings = [];
        var r = new EventRegistration
        {
            Immediate = true,
            Stage = EventStage.Pre,
            CommandText = commandText.Trim(),
        };
        bool nextAsm = false;
        int valuesSeen = 0;
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

                    if (t.IsBracket || t.IsQuoted || valuesSeen >= _values.Count)
                    {
                        throw Error($"unknown parameter '{t.Value}'");
                    }

                    PositionalValue positional = _values[valuesSeen++];
                    positional.Set(r, positional.Words is { } words
                        ? words.TryGetValue(t.Lower, out ulong word) ? word : throw Error($"{positional.Name} '{t.Value}' is invalid: use {string.Join(", ", words.Keys)}")
                        : Number(t.Value, positional.Name, positional.Max));
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
                throw new CommandException($"{_name}: the script does not compile: {scriptError}");
            }

            r.ScriptIncludes.Add(includes);
        }

        return r;
    }

    private CommandException Error(string message) => new($"{_name}: {message}.\nsyntax: {string.Join("\n", _syntax())}");

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

    /// <summary>A command's positional value: its name in errors, its largest value, where it goes.</summary>
    internal sealed record PositionalValue(string Name, ulong Max, Action<EventRegistration, ulong> Set)
    {
        /// <summary>The words it is given as instead of a number (<c>!mode</c>'s u, k, ku), lower case; null: a
        /// number.</summary>
        public IReadOnlyDictionary<string, ulong>? Words { get; init; }
    }
}
