// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Session;

namespace HyperDbgRemote.Agent.Events;

/// <summary>Chooses the script compiler the agent uses.</summary>
internal static class AgentScripts
{
    /// <summary>The script engine for a session (HyperDbgRemote.Script), with the guest's symbols.</summary>
    public static IScriptCompiler Create(DebuggeeSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        return new EngineScriptCompiler(session.Vm, session.Events, session.Symbols);
    }
}
