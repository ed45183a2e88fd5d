// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Agent.Messaging;

/// <summary>What the agent sends a host besides answers: script output (one message, or a batch) and logs.</summary>
internal abstract record AgentMessage;

/// <summary>Output of an <c>imm yes</c> event: one printf/print, tagged with the event.</summary>
internal sealed record ImmediateScriptOutput(int EventId, string Text) : AgentMessage;

/// <summary>Outputs of <c>imm no</c> events, in order, in one message.</summary>
internal sealed record BatchedScriptOutput(IReadOnlyList<string> Texts) : AgentMessage;

/// <summary>A report of the agent (a failed condition, a runtime error, a failing output).</summary>
internal sealed record LogMessage(Events.EventLogLevel Level, string Text) : AgentMessage;

/// <summary>Messages lost since the last such notice because the queue was full.</summary>
internal sealed record DroppedMessages(long Count) : AgentMessage;
