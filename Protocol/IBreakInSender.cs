// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Protocol;

/// <summary>A connection that can send the framed link's out-of-band break-in byte (docs/protocol/serial.md, "Break-in"):
/// the fast path of a pause, sent before the reliable <c>PauseRequest</c>.</summary>
public interface IBreakInSender
{
    /// <summary>Sends the break-in byte between frames; false when the link is down (the pause request still follows).</summary>
    bool TrySendBreakIn();
}
