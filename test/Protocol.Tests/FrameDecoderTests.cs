// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using HyperDbgRemote.Protocol.Internal;

namespace HyperDbgRemote.Protocol.Tests;

public sealed class FrameDecoderTests
{
    private const int Limit = 1024;

    [Test]
    public void Feed_OneByteAtATime_DecodesEveryFrame()
    {
        // Arrange
        byte[] stream = [.. Frame(1, 100), .. Frame(2, 0), .. Frame(3, 300)];
        var decoder = new FrameDecoder(Limit);
        var items = new List<DecodedItem>();

        // Act
        foreach (byte b in stream)
        {
            decoder.Feed([b], items);
        }

        // Assert
        Assert.That(items.Select(i => i.Frame.Sequence), Is.EqualTo(new byte[] { 1, 2, 3 }));
        Assert.That(items.Select(i => i.Frame.Payload.Length), Is.EqualTo(new[] { 100, 0, 300 }));
        Assert.That(decoder.GarbageBytes, Is.Zero);
    }

    [Test]
    public void Feed_TruncatedFrame_YieldsNothingUntilTheRestArrives()
    {
        byte[] frame = Frame(7, 50);
        var decoder = new FrameDecoder(Limit);
        var items = new List<DecodedItem>();

        decoder.Feed(frame.AsSpan(0, frame.Length - 1), items);
        Assert.That(items, Is.Empty);
        Assert.That(decoder.IsInsideFrame, Is.True);

        decoder.Feed(frame.AsSpan(frame.Length - 1), items);
        Assert.That(items, Has.Count.EqualTo(1));
        Assert.That(decoder.IsInsideFrame, Is.False);
    }

    [Test]
    public void Feed_TruncatedHeader_WaitsForMore()
    {
        byte[] frame = Frame(7, 200);
        var decoder = new FrameDecoder(Limit);
        var items = new List<DecodedItem>();

        decoder.Feed(frame.AsSpan(0, 6), items);
        Assert.That(items, Is.Empty);
        Assert.That(decoder.PendingBytes, Is.EqualTo(6));
        decoder.Feed(frame.AsSpan(6), items);
        Assert.That(items, Has.Count.EqualTo(1));
    }

    [Test]
    public void Feed_BadPayloadCrc_DropsFrameAndResynchronises()
    {
        // Arrange
        byte[] bad = Frame(1, 40);
        bad[20] ^= 0x10;
        byte[] stream = [.. bad, .. Frame(2, 40)];
        var decoder = new FrameDecoder(Limit);
        var items = new List<DecodedItem>();

        // Act
        decoder.Feed(stream, items);

        // Assert
        Assert.That(items.Select(i => i.Frame.Sequence), Is.EqualTo(new byte[] { 2 }));
        Assert.That(decoder.CrcErrors, Is.EqualTo(1));
        Assert.That(decoder.GarbageBytes, Is.EqualTo(bad.Length));
    }

    [Test]
    public void Feed_BadTrailer_DropsFrame()
    {
        byte[] bad = Frame(1, 10);
        bad[^1] ^= 0x80;
        var decoder = new FrameDecoder(Limit);
        var items = new List<DecodedItem>();
        decoder.Feed([.. bad, .. Frame(2, 1)], items);
        Assert.That(items.Select(i => i.Frame.Sequence), Is.EqualTo(new byte[] { 2 }));
        Assert.That(decoder.CrcErrors, Is.EqualTo(1));
    }

    [Test]
    public void Feed_BadHeaderCheck_RejectsWithoutWaitingForTheDeclaredLength()
    {
        // Arrange: a corrupt length byte that would otherwise make the decoder wait for 1000 bytes
        byte[] bad = Frame(1, 10);
        bad[ProtocolConstants.LengthOffset] = 0x7F;
        byte[] stream = [.. bad, .. Frame(2, 10)];
        var decoder = new FrameDecoder(Limit);
        var items = new List<DecodedItem>();

        // Act
        decoder.Feed(stream, items);

        // Assert
        Assert.That(items.Select(i => i.Frame.Sequence), Is.EqualTo(new byte[] { 2 }));
        Assert.That(decoder.HeaderErrors, Is.EqualTo(1));
    }

    [Test]
    public void Feed_DeclaredLengthBeyondLimit_RejectsAndResynchronises()
    {
        // Arrange: a well-formed header declaring Limit + 1 bytes
        byte[] header = FrameCodec.Encode(FrameType.Data, 0, 9, 0, new byte[Limit + 1]).AsSpan(0, 8).ToArray();
        byte[] stream = [.. header, .. Frame(3, 5)];
        var decoder = new FrameDecoder(Limit);
        var items = new List<DecodedItem>();

        // Act
        decoder.Feed(stream, items);

        // Assert
        Assert.That(items.Select(i => i.Frame.Sequence), Is.EqualTo(new byte[] { 3 }));
        Assert.That(decoder.OversizedFrames, Is.EqualTo(1));
        Assert.That(decoder.PendingBytes, Is.Zero);
    }

    [Test]
    public void Feed_PayloadExactlyAtLimit_IsAccepted()
    {
        var decoder = new FrameDecoder(Limit);
        var items = new List<DecodedItem>();
        decoder.Feed(Frame(1, Limit), items);
        Assert.That(items, Has.Count.EqualTo(1));
    }

    [Test]
    public void Feed_InvalidFrameType_IsHeaderError()
    {
        byte[] frame = Frame(1, 3);
        frame[ProtocolConstants.TypeOffset] = 0x0F;
        frame[6] = Crc8.Compute(frame.AsSpan(2, 4));
        var decoder = new FrameDecoder(Limit);
        var items = new List<DecodedItem>();
        decoder.Feed(frame, items);
        Assert.That(items, Is.Empty);
        Assert.That(decoder.HeaderErrors, Is.EqualTo(1));
    }

    [Test]
    public void Feed_NonMinimalLength_IsHeaderError()
    {
        // Arrange: length 5 written as 0x85 0x00
        byte[] header = [0xA5, 0x96, 0x01, 0x00, 0x00, 0x85, 0x00, 0x00];
        header[7] = Crc8.Compute(header.AsSpan(2, 5));
        byte[] frame = [.. header, 1, 2, 3, 4, 5, 0, 0, 0, 0];
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(13), Crc32C.Compute(frame.AsSpan(0, 13)));
        var decoder = new FrameDecoder(Limit);
        var items = new List<DecodedItem>();

        // Act
        decoder.Feed(frame, items);

        // Assert
        Assert.That(items, Is.Empty);
        Assert.That(decoder.HeaderErrors, Is.EqualTo(1));
    }

    [Test]
    public void Feed_GarbageBetweenFrames_IsCountedAndSkipped()
    {
        byte[] garbage = [0x11, 0xA5, 0x00, 0xA5, 0xA5, 0x22, 0x96];
        var decoder = new FrameDecoder(Limit);
        var items = new List<DecodedItem>();
        decoder.Feed([.. Frame(1, 4), .. garbage, .. Frame(2, 4)], items);
        Assert.That(items.Select(i => i.Frame.Sequence), Is.EqualTo(new byte[] { 1, 2 }));
        Assert.That(decoder.GarbageBytes, Is.EqualTo(garbage.Length));
    }

    [Test]
    public void Feed_BreakInBetweenFrames_IsRecognised()
    {
        var decoder = new FrameDecoder(Limit);
        var items = new List<DecodedItem>();
        decoder.Feed([ProtocolConstants.BreakInByte, .. Frame(1, 4), ProtocolConstants.BreakInByte, .. Frame(2, 4)], items);
        Assert.That(items.Select(i => i.IsBreakIn), Is.EqualTo(new[] { true, false, true, false }));
        Assert.That(decoder.BreakIns, Is.EqualTo(2));
    }

    [Test]
    public void Feed_BreakInByteInsidePayload_IsPayload()
    {
        byte[] payload = [ProtocolConstants.BreakInByte, ProtocolConstants.BreakInByte, 0xA5, 0x96];
        var decoder = new FrameDecoder(Limit);
        var items = new List<DecodedItem>();
        decoder.Feed(FrameCodec.Encode(FrameType.Data, 0, 1, 0, payload), items);
        Assert.That(items, Has.Count.EqualTo(1));
        Assert.That(items[0].Frame.Payload, Is.EqualTo(payload));
        Assert.That(decoder.BreakIns, Is.Zero);
    }

    [Test]
    public void Feed_BreakInWhileHunting_IsGarbage()
    {
        var decoder = new FrameDecoder(Limit);
        var items = new List<DecodedItem>();
        decoder.Feed([0x55, ProtocolConstants.BreakInByte, .. Frame(1, 1), ProtocolConstants.BreakInByte], items);
        Assert.That(items.Select(i => i.IsBreakIn), Is.EqualTo(new[] { false, true }));
        Assert.That(decoder.GarbageBytes, Is.EqualTo(2));
    }

    [Test]
    public void Feed_FrameHiddenInsideRejectedFrame_IsFound()
    {
        // Arrange: a header whose declared length covers a whole real frame, with a bad trailer
        byte[] inner = Frame(2, 3);
        byte[] outer = FrameCodec.Encode(FrameType.Data, 0, 1, 0, inner);
        outer[^1] ^= 1;
        var decoder = new FrameDecoder(Limit);
        var items = new List<DecodedItem>();

        // Act
        decoder.Feed(outer, items);

        // Assert
        Assert.That(items.Select(i => i.Frame.Sequence), Is.EqualTo(new byte[] { 2 }));
    }

    [Test]
    public void Feed_SeededRandomInput_NeitherCrashesNorLosesValidFrames()
    {
        // Arrange: 100,000 chunks of random bytes, some valid frames, some corrupted frames, random chunk sizes
        var random = new Random(20261124);
        var decoder = new FrameDecoder(Limit);
        var items = new List<DecodedItem>();
        int validSent = 0;
        int frameAtEnd = 0;

        // Act
        for (int i = 0; i < 100_000; i++)
        {
            byte[] chunk;
            int kind = random.Next(4);
            if (kind == 0)
            {
                chunk = Frame((byte)i, random.Next(0, 64));
                validSent++;
            }
            else if (kind == 1)
            {
                chunk = Frame((byte)i, random.Next(0, 64));
                chunk[random.Next(chunk.Length)] ^= (byte)(1 << random.Next(8));
            }
            else
            {
                chunk = new byte[random.Next(0, 40)];
                random.NextBytes(chunk);
            }

            int at = 0;
            while (at < chunk.Length)
            {
                int n = Math.Min(chunk.Length - at, random.Next(1, 17));
                decoder.Feed(chunk.AsSpan(at, n), items);
                at += n;
            }
        }

        // A clean tail: the decoder must be back in sync.
        items.Clear();
        decoder.Feed(new byte[Limit + ProtocolConstants.MaxHeaderLength + ProtocolConstants.TrailerLength], items);
        items.Clear();
        decoder.Feed(Frame(42, 8), items);
        frameAtEnd = items.Count(f => !f.IsBreakIn && f.Frame.Sequence == 42);

        // Assert
        Assert.That(decoder.Frames, Is.GreaterThanOrEqualTo(validSent / 2), "most valid frames survive random neighbours");
        Assert.That(frameAtEnd, Is.EqualTo(1));
    }

    private static byte[] Frame(byte sequence, int payloadLength)
    {
        var payload = new byte[payloadLength];
        for (int i = 0; i < payload.Length; i++)
        {
            payload[i] = (byte)(i * 7);
        }

        return FrameCodec.Encode(FrameType.Data, 0, sequence, 0, payload);
    }
}
