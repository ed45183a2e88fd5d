// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Agent.Session;

/// <summary>Limits on what a peer may ask of the agent. Each is checked and each refusal names the limit.</summary>
internal sealed record AgentLimits
{
    /// <summary>Longest memory read or write in one request.</summary>
    public int MaxMemoryBytes { get; init; } = 64 * 1024;

    /// <summary>Most instructions in one disassembly request.</summary>
    public int MaxDisassemblyInstructions { get; init; } = 256;

    /// <summary>Longest script source.</summary>
    public int MaxScriptBytes { get; init; } = 64 * 1024;
}
