// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Protocol;

/// <summary>
/// Wire constants of the framed link used on byte streams (serial line, named pipe, raw TCP). The layout is specified in
/// docs/protocol/serial.md, whose constants table is checked against this class by a test (STYLE 30).
/// </summary>
/// <remarks>
/// Frame: <c>A5 96 | type+flags | seq | ack | length (LEB128, 1-3 bytes) | CRC-8 of the header | payload | CRC-32C (LE)</c>.
/// Unlike HyperDbg's 24-byte header, 8-bit sum and unescaped end marker (spec 7.6, 9.26, 9.27), frames are found by
/// their declared length, the header is checked on its own, and the trailer is a CRC-32C over header and payload.
/// </remarks>
public static class ProtocolConstants
{
    /// <summary>First byte of every frame.</summary>
    public const byte StartMarker0 = 0xA5;

    /// <summary>Second byte of every frame.</summary>
    public const byte StartMarker1 = 0x96;

    /// <summary>
    /// The out-of-band break-in byte (ASCII ETX, what CTRL+C sends). It is recognised only between two frames while the
    /// decoder is synchronised, never inside a frame (frames are delimited by their length) and never while the decoder
    /// hunts for a start marker after garbage. It differs from <see cref="StartMarker0"/>, so it cannot start a frame.
    /// </summary>
    public const byte BreakInByte = 0x03;

    /// <summary>Length of the start marker.</summary>
    public const int StartMarkerLength = 2;

    /// <summary>Offset of the type (low nibble) and flags (high nibble) byte.</summary>
    public const int TypeOffset = 2;

    /// <summary>Offset of the sequence number (mod 256).</summary>
    public const int SequenceOffset = 3;

    /// <summary>Offset of the cumulative acknowledgement: the next sequence number the sender expects from its peer.</summary>
    public const int AckOffset = 4;

    /// <summary>Offset of the payload length (unsigned LEB128, 1 to <see cref="MaxLengthFieldBytes"/> bytes, minimal).</summary>
    public const int LengthOffset = 5;

    /// <summary>Most bytes the payload length may take (21 bits, covers <see cref="AbsoluteMaxFramePayload"/>).</summary>
    public const int MaxLengthFieldBytes = 3;

    /// <summary>Length of the header check byte (CRC-8, polynomial 0x07, over type .. length).</summary>
    public const int HeaderCheckLength = 1;

    /// <summary>Shortest header: marker, type, seq, ack, one length byte, header check.</summary>
    public const int MinHeaderLength = 7;

    /// <summary>Longest header (three length bytes).</summary>
    public const int MaxHeaderLength = 9;

    /// <summary>Length of the CRC-32C trailer (Castagnoli, reflected, init and xor-out 0xFFFFFFFF, little-endian).</summary>
    public const int TrailerLength = 4;

    /// <summary>Polynomial of the header check (CRC-8/SMBUS, init 0).</summary>
    public const byte HeaderCrcPolynomial = 0x07;

    /// <summary>Mask of the frame type within the type byte.</summary>
    public const byte TypeMask = 0x0F;

    /// <summary>Shift of the flags nibble within the type byte.</summary>
    public const int FlagsShift = 4;

    /// <summary>Flag: the sender runs acknowledgement-free (reliable byte stream); the receiver must not wait for resends.</summary>
    public const byte FlagAckFree = 0x01;

    /// <summary>Flag of a DATA frame: more fragments of the same message follow (messages larger than a frame are split).</summary>
    public const byte FlagMoreFragments = 0x02;

    /// <summary>Flag of a DATA frame: it continues a message begun by an earlier frame (it is not a message's first fragment).</summary>
    public const byte FlagContinuation = 0x04;

    /// <summary>Sequence numbers count modulo this value.</summary>
    public const int SequenceModulus = 256;

    /// <summary>Largest sliding window (frames in flight); less than half the sequence space.</summary>
    public const int MaxWindowSize = 64;

    /// <summary>Default sliding window.</summary>
    public const int DefaultWindowSize = 16;

    /// <summary>Default largest frame payload.</summary>
    public const int DefaultMaxFramePayload = 64 * 1024;

    /// <summary>Upper bound for any configured frame payload.</summary>
    public const int AbsoluteMaxFramePayload = 1024 * 1024;

    /// <summary>Smallest allowed frame payload limit.</summary>
    public const int MinMaxFramePayload = 256;

    /// <summary>Length of the RESET frame payload: the sender's random 32-bit nonce, then the peer's nonce as the sender
    /// knows it (0 while unknown), both little-endian.</summary>
    public const int ResetPayloadLength = 8;

    /// <summary>Smallest frame payload the link chooses on a paced line (serial) with a high error rate.</summary>
    public const int PacedMinFragment = 48;

    /// <summary>Frame payload a paced line starts with; it grows while frames pass and shrinks when they are lost.</summary>
    public const int PacedInitialFragment = 128;

    /// <summary>Largest frame payload on a paced line: even at a bit-error rate of 1e-3 such a frame passes once in 70 tries.</summary>
    public const int PacedMaxFragment = 512;

    /// <summary>Default resend timeout of an unacknowledged frame, in milliseconds (plus the line time of the bytes in flight).</summary>
    public const int DefaultRetransmitTimeoutMs = 250;

    /// <summary>Default interval after which an idle side sends a KEEPALIVE, in milliseconds.</summary>
    public const int DefaultKeepAliveIntervalMs = 400;

    /// <summary>Default silence after which the peer is declared dead, in milliseconds (detection within 2 s).</summary>
    public const int DefaultDeadPeerTimeoutMs = 1500;

    /// <summary>Default connect timeout for pipes and sockets, in milliseconds.</summary>
    public const int DefaultConnectTimeoutMs = 5000;

    /// <summary>Default serial line speed (spec 7.2).</summary>
    public const int DefaultBaudRate = 115200;

    /// <summary>Bits on the wire per byte at 8N1 (start + 8 data + stop).</summary>
    public const int SerialBitsPerByte = 10;

    /// <summary>The baud rates HyperDbg accepts (spec 7.2), in ascending order.</summary>
    public static IReadOnlyList<int> SupportedBaudRates { get; } =
        [110, 300, 600, 1200, 2400, 4800, 9600, 14400, 19200, 38400, 56000, 57600, 115200, 128000, 256000];
}
