// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;

namespace HyperDbgRemote.Protocol.Internal;

/// <summary>
/// Incremental frame decoder fed arbitrary chunks. Yields frames and break-in bytes; counts and skips garbage;
/// after a bad header check, an invalid type, a length beyond the limit or a bad CRC-32C it resynchronises on the next
/// start marker after the rejected one (so a real frame hidden inside a rejected region is still found). Nothing is
/// allocated by a peer-declared length: the length is checked before the decoder waits for the payload, and the buffer
/// is sized once from the configured limit. Single-threaded.
/// </summary>
/// <remarks>Contrast HyperDbg (spec 7.6, 9.27): there a payload containing the end marker truncates the frame.</remarks>
internal sealed class FrameDecoder
{
    private const int ChunkRoom = 16 * 1024;
    private const int VarintPayloadBits = 7;
    private const byte VarintContinuation = 0x80;
    private const byte VarintMask = 0x7F;

    private readonly int _maxPayload;
    private readonly byte[] _buffer;
    private int _start;
    private int _end;
    private bool _hunting;

    public FrameDecoder(int maxPayload)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPayload, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxPayload, ProtocolConstants.AbsoluteMaxFramePayload);
        _maxPayload = maxPayload;
        _buffer = new byte[FrameCodec.EncodedLength(maxPayload) + ChunkRoom];
    }

    /// <summary>Frames decoded with a valid header and CRC.</summary>
    public long Frames { get; private set; }

    /// <summary>Bytes skipped because they did not belong to a valid frame (including rejected start markers).</summary>
    public long GarbageBytes { get; private set; }

    /// <summary>Candidate headers rejected: bad header check, invalid type or non-minimal length.</summary>
    public long HeaderErrors { get; private set; }

    /// <summary>Candidate frames rejected because the declared length exceeded the limit.</summary>
    public long OversizedFrames { get; private set; }

    /// <summary>Frames rejected because the CRC-32C did not match (including frames of another session).</summary>
    public long CrcErrors { get; private set; }

    /// <summary>
    /// Where the CRC-32C of every frame but RESET starts: the session's <see cref="SessionKey.CrcState"/>, or null before
    /// the session is known, when only RESET frames are accepted. RESET frames always start from
    /// <see cref="Crc32C.InitialState"/>. A new decoder checks every frame from <see cref="Crc32C.InitialState"/> (an
    /// unkeyed stream); the link sets null until its session is known.
    /// </summary>
    public uint? SessionState { get; set; } = Crc32C.InitialState;

    /// <summary>Break-in bytes recognised.</summary>
    public long BreakIns { get; private set; }

    /// <summary>True while a valid header has been seen and the rest of its frame is awaited.</summary>
    public bool IsInsideFrame { get; private set; }

    /// <summary>Headers accepted whose frame was then awaited; identifies the current partial frame.</summary>
    public long PartialFrames { get; private set; }

    /// <summary>Total length of the awaited frame while <see cref="IsInsideFrame"/>.</summary>
    public int PartialFrameLength { get; private set; }

    /// <summary>Frames abandoned because the rest never came in time (a corrupt length that passed the header check).</summary>
    public long AbandonedFrames { get; private set; }

    /// <summary>True while the decoder skips garbage looking for a start marker (break-in bytes are not recognised then).</summary>
    public bool IsHunting => _hunting;

    /// <summary>Bytes buffered but not yet decoded.</summary>
    public int PendingBytes => _end - _start;

    /// <summary>Feeds a chunk; decoded items are appended to <paramref name="output"/>.</summary>
    public void Feed(ReadOnlySpan<byte> data, List<DecodedItem> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        while (!data.IsEmpty)
        {
            if (_buffer.Length - _end < Math.Min(data.Length, ChunkRoom))
            {
                Compact();
            }

            int n = Math.Min(_buffer.Length - _end, data.Length);
            data[..n].CopyTo(_buffer.AsSpan(_end));
            _end += n;
            data = data[n..];
            Parse(output);
        }
    }

    /// <summary>
    /// Gives up the awaited frame (its declared length is presumably corrupt although the header check passed, 1 in 256)
    /// and re-scans the buffered bytes after its start marker; frames found there are appended to <paramref name="output"/>.
    /// The link calls this when the frame has not completed within its line time plus the resend timeout.
    /// </summary>
    public void AbandonPartialFrame(List<DecodedItem> output)
    {
        if (!IsInsideFrame)
        {
            return;
        }

        AbandonedFrames++;
        HeaderErrors++;
        Reject();
        Parse(output);
    }

    private void Compact()
    {
        int pending = _end - _start;
        Buffer.BlockCopy(_buffer, _start, _buffer, 0, pending);
        _start = 0;
        _end = pending;
    }

    private void Parse(List<DecodedItem> output)
    {
        while (_end > _start)
        {
            ReadOnlySpan<byte> span = _buffer.AsSpan(_start, _end - _start);
            if (span[0] != ProtocolConstants.StartMarker0)
            {
                SkipToMarker(span, output);
                continue;
            }

            if (span.Length < ProtocolConstants.StartMarkerLength)
            {
                return;
            }

            if (span[1] != ProtocolConstants.StartMarker1)
            {
                Reject();
                continue;
            }

            switch (TryParseFrame(span, output))
            {
                case ParseResult.NeedMore:
                    return;
                case ParseResult.Rejected:
                    Reject();
                    break;
                default:
                    break;
            }
        }
    }

    private void SkipToMarker(ReadOnlySpan<byte> span, List<DecodedItem> output)
    {
        if (!_hunting && span[0] == ProtocolConstants.BreakInByte)
        {
            // Between frames while synchronised: the out-of-band break-in (docs/protocol/serial.md "Break-in").
            BreakIns++;
            output.Add(DecodedItem.BreakIn);
            _start++;
            return;
        }

        int index = span.IndexOf(ProtocolConstants.StartMarker0);
        int skip = index < 0 ? span.Length : index;
        GarbageBytes += skip;
        _start += skip;
        _hunting = true;
    }

    private void Reject()
    {
        GarbageBytes++;
        _start++;
        _hunting = true;
        IsInsideFrame = false;
    }

    private ParseResult TryParseFrame(ReadOnlySpan<byte> span, List<DecodedItem> output)
    {
        if (span.Length < ProtocolConstants.MinHeaderLength)
        {
            return ParseResult.NeedMore;
        }

        int length = 0;
        int lengthBytes = 0;
        while (true)
        {
            int at = ProtocolConstants.LengthOffset + lengthBytes;
            if (at >= span.Length)
            {
                return ParseResult.NeedMore;
            }

            byte b = span[at];
            length |= (b & VarintMask) << (VarintPayloadBits * lengthBytes);
            lengthBytes++;
            if ((b & VarintContinuation) == 0)
            {
                if (lengthBytes > 1 && b == 0)
                {
                    HeaderErrors++;
                    return ParseResult.Rejected;
                }

                break;
            }

            if (lengthBytes == ProtocolConstants.MaxLengthFieldBytes)
            {
                HeaderErrors++;
                return ParseResult.Rejected;
            }
        }

        int checkAt = ProtocolConstants.LengthOffset + lengthBytes;
        if (checkAt >= span.Length)
        {
            return ParseResult.NeedMore;
        }

        if (Crc8.Compute(span[ProtocolConstants.TypeOffset..checkAt]) != span[checkAt])
        {
            HeaderErrors++;
            return ParseResult.Rejected;
        }

        var type = (FrameType)(span[ProtocolConstants.TypeOffset] & ProtocolConstants.TypeMask);
        if (type is FrameType.None || !Enum.IsDefined(type))
        {
            HeaderErrors++;
            return ParseResult.Rejected;
        }

        if (length > _maxPayload)
        {
            OversizedFrames++;
            return ParseResult.Rejected;
        }

        int headerLength = checkAt + ProtocolConstants.HeaderCheckLength;
        int total = headerLength + length + ProtocolConstants.TrailerLength;
        if (span.Length < total)
        {
            if (!IsInsideFrame)
            {
                IsInsideFrame = true;
                PartialFrames++;
                PartialFrameLength = total;
            }

            return ParseResult.NeedMore;
        }

        int crcAt = headerLength + length;
        uint? state = type == FrameType.Reset ? Crc32C.InitialState : SessionState;
        if (state is not uint start || Crc32C.Compute(start, span[..crcAt]) != BinaryPrimitives.ReadUInt32LittleEndian(span[crcAt..]))
        {
            CrcErrors++;
            return ParseResult.Rejected;
        }

        byte flags = (byte)(span[ProtocolConstants.TypeOffset] >> ProtocolConstants.FlagsShift);
        var frame = new Frame(type, flags, span[ProtocolConstants.SequenceOffset], span[ProtocolConstants.AckOffset], span[headerLength..crcAt].ToArray());
        output.Add(new DecodedItem(false, frame));
        Frames++;
        _start += total;
        _hunting = false;
        IsInsideFrame = false;
        return ParseResult.Decoded;
    }

    private enum ParseResult
    {
        NeedMore,
        Rejected,
        Decoded,
    }
}
