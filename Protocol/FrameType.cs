// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Protocol;

/// <summary>Frame types of the framed link (low nibble of byte 2, docs/protocol/serial.md). 0 is never valid.</summary>
public enum FrameType : byte
{
    /// <summary>Invalid; never on the wire.</summary>
    None = 0,

    /// <summary>A sequenced protobuf message (<c>HostToAgent</c> or <c>AgentToHost</c>).</summary>
    Data = 1,

    /// <summary>Unsequenced; carries only the cumulative acknowledgement.</summary>
    Ack = 2,

    /// <summary>Unsequenced; payload lists the sequence numbers the receiver is missing (selective resend request).</summary>
    Nak = 3,

    /// <summary>Unsequenced; sent by an idle side so that its peer knows it is alive.</summary>
    KeepAlive = 4,

    /// <summary>Sequenced, the first frame of every link: a random session nonce. A new nonce from a known peer means it restarted.</summary>
    Reset = 5,

    /// <summary>Unsequenced; the sender closes the link gracefully.</summary>
    Close = 6,
}
