// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Protocol;

/// <summary>A snapshot of a link's counters.</summary>
/// <param name="FramesSent">Frames written, including resends and control frames.</param>
/// <param name="FramesReceived">Frames decoded with a valid CRC.</param>
/// <param name="BytesSent">Bytes written.</param>
/// <param name="BytesReceived">Bytes read.</param>
/// <param name="MessagesSent">Messages accepted by SendAsync.</param>
/// <param name="MessagesDelivered">Messages delivered in order to the reader.</param>
/// <param name="Retransmissions">DATA frames sent again (timeout or NAK).</param>
/// <param name="NaksSent">NAK frames sent.</param>
/// <param name="NaksReceived">NAK frames received.</param>
/// <param name="DuplicatesDropped">Sequenced frames received again and dropped.</param>
/// <param name="CorruptFrames">Frames dropped for a bad CRC-32C.</param>
/// <param name="HeaderErrors">Candidate headers dropped (header check, type, length encoding).</param>
/// <param name="OversizedFrames">Candidate frames dropped for a length beyond the limit.</param>
/// <param name="GarbageBytes">Bytes skipped between frames.</param>
/// <param name="LostFrames">Acknowledgement-free mode: sequence gaps (frames lost for good).</param>
/// <param name="BreakInsReceived">Break-in bytes received.</param>
/// <param name="KeepAlivesSent">KEEPALIVE frames sent.</param>
public sealed record LinkStatistics(
    long FramesSent,
    long FramesReceived,
    long BytesSent,
    long BytesReceived,
    long MessagesSent,
    long MessagesDelivered,
    long Retransmissions,
    long NaksSent,
    long NaksReceived,
    long DuplicatesDropped,
    long CorruptFrames,
    long HeaderErrors,
    long OversizedFrames,
    long GarbageBytes,
    long LostFrames,
    long BreakInsReceived,
    long KeepAlivesSent)
{
    /// <summary>Messages dropped whole because a fragment was lost for good (acknowledgement-free mode).</summary>
    public long LostMessages { get; init; }

    /// <summary>Messages dropped because their fragments added up to more than <see cref="ProtocolLimits.MaxMessageBytes"/>.</summary>
    public long OversizedMessages { get; init; }

    /// <summary>RESET frames ignored because they belonged to another session (addressed to an earlier incarnation).</summary>
    public long StaleResets { get; init; }

    /// <summary>The payload size new DATA frames are cut to now (adapted to the line's error rate on a paced line).</summary>
    public int FragmentSize { get; init; }
}
