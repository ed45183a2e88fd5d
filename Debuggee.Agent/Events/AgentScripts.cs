// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Script;

namespace HyperDbgRemote.Agent.Events;

/// <summary>Chooses the script compiler the agent uses and the operation limits of its runs (docs/script-language.md,
/// "The limit"): the agent's owner sets them with <see cref="EventLimitOption"/> and <see cref="EvaluationLimitOption"/>.</summary>
internal static class AgentScripts
{
    /// <summary>Operations per event-script run (default HyperDbg's 1,000,000; nothing can interrupt a VM exit).</summary>
    public const string EventLimitOption = "--max-execution-count";

    /// <summary>Operations per run on the halted core (?, print, r): default none, Ctrl+C or the request's end stops it.</summary>
    public const string EvaluationLimitOption = "--max-eval-execution-count";

    /// <summary>The largest limit either option takes.</summary>
    public const long MaxLimit = 1_000_000_000_000;

    /// <summary>The script engine for a session (HyperDbgRemote.Script), with the guest's symbols and these limits
    /// (null: the defaults).</summary>
    public static IScriptCompiler Create(DebuggeeSession session, long? eventLimit = null, long? evaluationLimit = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        return new EngineScriptCompiler(session.Vm, session.Events, session.Symbols, EventLimits(eventLimit), EvaluationLimits(evaluationLimit));
    }

    /// <summary>The limits of event scripts: <paramref name="maxOperations"/> or HyperDbg's 1,000,000.</summary>
    public static ScriptLimits EventLimits(long? maxOperations) => new()
    {
        MaxOperations = maxOperations ?? ScriptLimits.DefaultMaxOperations,
        MaxOperationsSetting = $"the agent's {EventLimitOption}",
    };

    /// <summary>The limits of runs on the halted core: <paramref name="maxOperations"/> or none (0).</summary>
    public static ScriptLimits EvaluationLimits(long? maxOperations) => new()
    {
        MaxOperations = maxOperations ?? 0,
        MaxOperationsSetting = $"the agent's {EvaluationLimitOption}",
    };

    /// <summary>Parses the value of <paramref name="option"/> (decimal); 0 is refused for event scripts, which nothing
    /// else could stop.</summary>
    public static bool TryParseLimit(string option, string? text, out long value, [NotNullWhen(false)] out string? error)
    {
        long min = option == EventLimitOption ? 1 : 0;
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= MaxLimit)
        {
            error = null;
            return true;
        }

        error = $"{option} takes a number of operations from {min} to {MaxLimit:N0} (decimal){(min == 0 ? "; 0 means no limit" : string.Empty)}";
        return false;
    }
}
