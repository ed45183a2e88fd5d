// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Protocol;

/// <summary>Settings of a <see cref="ReliableLink{TSend, TReceive}"/>. Init-only; <see cref="Validate"/> runs when a link is created.</summary>
public sealed class LinkOptions
{
    /// <summary>
    /// True (the default): every DATA frame is acknowledged and resent until it is. False: acknowledgement-free mode
    /// for byte streams that neither lose nor corrupt (pipe, TCP); the CRC still applies, a corrupt frame is counted
    /// and lost, gaps are counted in <see cref="LinkStatistics.LostFrames"/>.
    /// </summary>
    public bool RequireAcknowledgements { get; init; } = true;

    /// <summary>Frames in flight, 1 .. <see cref="ProtocolConstants.MaxWindowSize"/>.</summary>
    public int WindowSize { get; init; } = ProtocolConstants.DefaultWindowSize;

    /// <summary>Resend timeout of an unacknowledged frame; the line time of the bytes in flight is added when <see cref="BytesPerSecond"/> is set.</summary>
    public TimeSpan RetransmitTimeout { get; init; } = TimeSpan.FromMilliseconds(ProtocolConstants.DefaultRetransmitTimeoutMs);

    /// <summary>Idle time after which a KEEPALIVE is sent.</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromMilliseconds(ProtocolConstants.DefaultKeepAliveIntervalMs);

    /// <summary>Silence after which the peer is declared dead and the link closes with <see cref="LinkClosedException"/>.</summary>
    public TimeSpan DeadPeerTimeout { get; init; } = TimeSpan.FromMilliseconds(ProtocolConstants.DefaultDeadPeerTimeoutMs);

    /// <summary>
    /// How long to wait for the first valid frame from the peer; <see cref="Timeout.InfiniteTimeSpan"/> (the default) waits
    /// for ever, like HyperDbg's debugger waiting for its debuggee (spec 7.3). The RESET is resent meanwhile.
    /// <see cref="DeadPeerTimeout"/> applies once the peer has been heard.
    /// </summary>
    public TimeSpan ConnectTimeout { get; init; } = Timeout.InfiniteTimeSpan;

    /// <summary>Line rate in bytes per second (baud / 10 for 8N1), or 0 if unknown/fast. Used to stretch the resend timeout.</summary>
    public int BytesPerSecond { get; init; }

    /// <summary>Clock for every deadline (STYLE 20).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Limits; <see cref="ProtocolLimits.MaxFramePayload"/> bounds every message.</summary>
    public ProtocolLimits Limits { get; init; } = ProtocolLimits.Default;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (WindowSize is < 1 or > ProtocolConstants.MaxWindowSize)
        {
            throw new ArgumentException($"WindowSize must be between 1 and {ProtocolConstants.MaxWindowSize}; got {WindowSize}.");
        }

        if (RetransmitTimeout <= TimeSpan.Zero || KeepAliveInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException($"RetransmitTimeout ({RetransmitTimeout}) and KeepAliveInterval ({KeepAliveInterval}) must be positive.");
        }

        if (DeadPeerTimeout <= KeepAliveInterval)
        {
            throw new ArgumentException($"DeadPeerTimeout ({DeadPeerTimeout}) must exceed KeepAliveInterval ({KeepAliveInterval}).");
        }

        if (ConnectTimeout <= TimeSpan.Zero && ConnectTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException($"ConnectTimeout must be positive or infinite; got {ConnectTimeout}.");
        }

        if (BytesPerSecond < 0)
        {
            throw new ArgumentException($"BytesPerSecond must not be negative; got {BytesPerSecond}.");
        }

        ArgumentNullException.ThrowIfNull(TimeProvider);
        ArgumentNullException.ThrowIfNull(Limits);
    }
}
