// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Debugging;

/// <summary>
/// HyperDbg's stepping commands on the current core while the other cores stay halted, each with a count:
/// <c>t</c> (step into), <c>p</c> (step over calls, INT n and REP string instructions), <c>i</c> (instrumentation step:
/// one instruction with the system fully halted, into exception handlers) and <c>gu</c> (run until the current function
/// returns). Each step shows the next instruction; a breakpoint or an event ends them early.
/// </summary>
internal sealed class StepCommand : IDebuggerCommand
{
    private readonly string _name;
    private readonly StepKind _kind;

    private StepCommand(string name, StepKind kind, string description, IReadOnlyList<string> examples)
    {
        _name = name;
        _kind = kind;
        Description = description;
        Examples = examples;
    }

    public IReadOnlyList<string> Names => [_name];

    public string Description { get; }

    public IReadOnlyList<string> Syntax => [$"{_name} [Count (hex)]"];

    public IReadOnlyList<string> Examples { get; }

    /// <summary><c>t</c>: step into, one instruction (an external interrupt waits until the guest continues).</summary>
    public static StepCommand Into() => new("t", StepKind.Into, "step into: execute one instruction (or Count) on the current core", ["t", "t 10"]);

    /// <summary><c>p</c>: step over.</summary>
    public static StepCommand Over() => new("p", StepKind.Over, "step over: as t, but a call, INT n or REP string instruction runs to the next instruction", ["p", "p 5"]);

    /// <summary><c>i</c>: instrumentation step-in.</summary>
    public static StepCommand Instrumentation() => new("i", StepKind.Instrumentation, "instrumentation step-in: one instruction with the system fully halted, into fault handlers", ["i", "i 5"]);

    /// <summary><c>gu</c>: go up.</summary>
    public static StepCommand GoUp() => new("gu", StepKind.Out, "go up: step over instructions until the current function returns (Count: most instructions)", ["gu", "gu 1000"]);

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        if (arguments.Count > 1)
        {
            throw new CommandException($"{_name} takes at most a count.\nsyntax: {Syntax[0]}");
        }

        int limit = _kind == StepKind.Out ? ProtocolLimits.MaxGoUpInstructions : ProtocolLimits.MaxStepCount;
        uint count = arguments.Count == 0 ? (_kind == StepKind.Out ? 0u : 1u) : (uint)Numbers.Parse(arguments[0].Value, "count", (ulong)limit);
        if (arguments.Count == 1 && count == 0)
        {
            throw new CommandException("the count must be at least 1.");
        }

        HaltedNotification halt = await context.RequireHaltAsync().ConfigureAwait(false);
        AgentToHost r = await context.Session.SendAsync(new HostToAgent { Step = new StepRequest { Core = halt.Core, Count = count, Kind = _kind } }).ConfigureAwait(false);
        DebugSession.Check(r.Step.Status, r.Step.Message);

        // Every step's halt comes as a notification too (and prints its instruction): wait until the last one has been
        // shown, so what the next command prints follows it. gu notifies its last halt only.
        HaltedNotification last = r.Step.Halt;
        HaltedNotification seen = halt;
        uint notified = _kind == StepKind.Out ? 1 : r.Step.Steps;
        for (uint i = 0; i <= notified; i++)
        {
            context.Session.MarkRunning(seen);
            seen = await context.Session.WaitForHaltAsync(context.Session.HaltWait, context.Cancellation).ConfigureAwait(false);
            if (seen.Reason == last.Reason && seen.Rip == last.Rip && seen.Core == last.Core)
            {
                break;
            }
        }

        if (r.Step.Message.Length > 0)
        {
            context.Output.Line(r.Step.Message);
        }
    }
}
