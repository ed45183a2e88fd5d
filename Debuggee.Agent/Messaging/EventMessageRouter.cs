// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Events;
using HyperDbgRemote.Agent.Outputs;

namespace HyperDbgRemote.Agent.Messaging;

/// <summary>
/// Routes events' output: to the event's output sources when it lists some (then not to the host, as HyperDbg does),
/// else to the host as an immediate message (<c>imm yes</c>) or into the batch (<c>imm no</c>). Output failures and
/// the agent's reports go to the host as logs.
/// </summary>
internal sealed class EventMessageRouter : IEventOutput
{
    private readonly MessageQueue _queue;
    private readonly OutputManager _outputs;

    public EventMessageRouter(MessageQueue queue, OutputManager outputs)
    {
        _queue = queue;
        _outputs = outputs;
    }

    /// <inheritdoc/>
    public void ScriptOutput(RegisteredEvent source, string text)
    {
        IoEventSpec spec = source.Spec;
        if (spec.Outputs.Count > 0)
        {
            _outputs.Forward(spec.Outputs, text);
            return;
        }

        if (spec.Immediate)
        {
            _queue.Immediate(source.Id, text);
        }
        else
        {
            _queue.Batched(text);
        }
    }

    /// <inheritdoc/>
    public void Log(EventLogLevel level, string text) => _queue.Log(level, text);

    /// <inheritdoc/>
    public int DiscardPending() => _queue.DiscardBatch();
}
