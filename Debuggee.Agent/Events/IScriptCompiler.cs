// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver;

namespace HyperDbgRemote.Agent.Events;

/// <summary>Compiles script source for events and runs scripts on a halted core (the script engine plugs in here).</summary>
internal interface IScriptCompiler
{
    /// <summary>Compiles an event's script; throws <see cref="ScriptException"/> with line, column and caret on errors.
    /// <paramref name="includes"/> holds the text of the files it <c>#include</c>s, read by the debugger. Stops with
    /// <see cref="OperationCanceledException"/> when the request is cancelled.</summary>
    IEventScript Compile(string source, IReadOnlyDictionary<string, string>? includes = null, CancellationToken cancellationToken = default);

    /// <summary>Runs a script once on a halted core (<c>?</c>, <c>print</c>, <c>r x = …</c>); returns what it printed. A
    /// cancelled request interrupts the run (a <see cref="ScriptException"/> saying so).</summary>
    string Evaluate(string source, Vcpu core, HaltContext context, IReadOnlyDictionary<string, string>? includes = null, CancellationToken cancellationToken = default);
}

/// <summary>What a script evaluated while halted sees of the halt (HyperDbg: $context, $event_id, $event_stage).</summary>
internal sealed record HaltContext(ulong Context, int? EventId, int Stage);

/// <summary>A script that does not compile or fails when evaluated; the message is for the user.</summary>
internal sealed class ScriptException : Exception
{
    public ScriptException()
    {
    }

    public ScriptException(string message)
        : base(message)
    {
    }

    public ScriptException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
