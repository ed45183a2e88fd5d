// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Agent.Events;

/// <summary>Where events' messages go (the agent's messaging: immediate or batched, to the host and to outputs).</summary>
internal interface IEventOutput
{
    /// <summary>Text a script printed (printf, print) for an event.</summary>
    void ScriptOutput(RegisteredEvent source, string text);

    /// <summary>A report about the agent's own work (a failed condition, a runtime error), at a level.</summary>
    void Log(EventLogLevel level, string text);

    /// <summary>A script's <c>flush()</c>: discards the batched messages not yet sent; returns how many.</summary>
    int DiscardPending();
}

/// <summary>Levels of agent reports.</summary>
internal enum EventLogLevel
{
    Information,
    Warning,
    Error,
}
