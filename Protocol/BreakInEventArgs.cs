// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Protocol;

/// <summary>The break-in byte arrived: where it stood in the stream of messages.</summary>
public sealed class BreakInEventArgs : EventArgs
{
    public BreakInEventArgs(long messagesBefore)
    {
        MessagesBefore = messagesBefore;
    }

    /// <summary>How many messages the peer had sent before the byte: the messages numbered 1 to this (see
    /// <see cref="ReliableLink{TSend, TReceive}.MessagesReceived"/>) came before it, so a break-in can interrupt a
    /// request that arrived before it even when that request has not started yet.</summary>
    public long MessagesBefore { get; }
}
