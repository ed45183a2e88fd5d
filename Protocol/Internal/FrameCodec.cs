// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;

namespace HyperDbgRemote.Protocol.Internal;

/// <summary>
/// Pure frame encoding (no I/O); the layout is ProtocolConstants' and docs/protocol/serial.md's. Decoding of a byte
/// stream is <see cref="FrameDecoder"/>'s.
/// </summary>
internal static class FrameCodec
{
    private const int VarintPayloadBits = 7;
    private const byte VarintContinuation = 0x80;
    private const byte VarintMask = 0x7F;

    /// <summary>Number of bytes the LEB128 length takes.</summary>
    public static int LengthFieldSize(int payloadLength) =>
        payloadLength < (1 << VarintPayloadBits) ? 1 : payloadLength < (1 << (2 * VarintPayloadBits)) ? 2 : 3;

    /// <summary>Header length for a payload of this length.</summary>
    public static int HeaderLength(int payloadLength) =>
        ProtocolConstants.LengthOffset + LengthFieldSize(payloadLength) + ProtocolConstants.HeaderCheckLength;

    /// <summary>Bytes a whole frame takes.</summary>
    public static int EncodedLength(int payloadLength) =>
        HeaderLength(payloadLength) + payloadLength + ProtocolConstants.TrailerLength;

    /// <summary>Overhead added to a payload of this length.</summary>
    public static int Overhead(int payloadLength) => EncodedLength(payloadLength) - payloadLength;

    /// <summary>Encodes one frame into a new array.</summary>
    /// <param name="type">The frame type.</param>
    /// <param name="flags">The flags nibble.</param>
    /// <param name="sequence">The sequence number (DATA) or 0.</param>
    /// <param name="ack">The cumulative acknowledgement.</param>
    /// <param name="payload">The payload.</param>
    /// <param name="crcState">Where the CRC-32C starts: <see cref="Crc32C.InitialState"/> for RESET frames, the session's
    /// <see cref="SessionKey.CrcState"/> for every other frame (docs/protocol/serial.md, "Sessions").</param>
    /// <exception cref="ArgumentOutOfRangeException">The payload exceeds <see cref="ProtocolConstants.AbsoluteMaxFramePayload"/> or the type is invalid.</exception>
    public static byte[] Encode(FrameType type, byte flags, byte sequence, byte ack, ReadOnlySpan<byte> payload, uint crcState = Crc32C.InitialState)
    {
        var frame = new byte[EncodedLength(payload.Length)];
        Encode(type, flags, sequence, ack, payload, frame, crcState);
        return frame;
    }

    /// <summary>Encodes one frame into <paramref name="destination"/> and returns the bytes written.</summary>
    public static int Encode(FrameType type, byte flags, byte sequence, byte ack, ReadOnlySpan<byte> payload, Span<byte> destination, uint crcState = Crc32C.InitialState)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(payload.Length, ProtocolConstants.AbsoluteMaxFramePayload, nameof(payload));
        if (type is FrameType.None || (byte)type > ProtocolConstants.TypeMask || !Enum.IsDefined(type))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "not a valid frame type.");
        }

        ArgumentOutOfRangeException.ThrowIfGreaterThan(flags, ProtocolConstants.TypeMask, nameof(flags));
        int headerLength = HeaderLength(payload.Length);
        int total = headerLength + payload.Length + ProtocolConstants.TrailerLength;
        if (destination.Length < total)
        {
            throw new ArgumentException($"destination holds {destination.Length} bytes; the frame needs {total}.", nameof(destination));
        }

        destination[0] = ProtocolConstants.StartMarker0;
        destination[1] = ProtocolConstants.StartMarker1;
        destination[ProtocolConstants.TypeOffset] = (byte)((byte)type | (flags << ProtocolConstants.FlagsShift));
        destination[ProtocolConstants.SequenceOffset] = sequence;
        destination[ProtocolConstants.AckOffset] = ack;
        int pos = ProtocolConstants.LengthOffset;
        uint length = (uint)payload.Length;
        do
        {
            byte b = (byte)(length & VarintMask);
            length >>= VarintPayloadBits;
            destination[pos++] = length != 0 ? (byte)(b | VarintContinuation) : b;
        }
        while (length != 0);

        destination[pos] = Crc8.Compute(destination[ProtocolConstants.TypeOffset..pos]);
        pos++;
        payload.CopyTo(destination[pos..]);
        pos += payload.Length;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[pos..], Crc32C.Compute(crcState, destination[..pos]));
        return pos + ProtocolConstants.TrailerLength;
    }
}
