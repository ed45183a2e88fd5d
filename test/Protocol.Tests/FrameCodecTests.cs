// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Protocol.Internal;

namespace HyperDbgRemote.Protocol.Tests;

public sealed class FrameCodecTests
{
    private static IEnumerable<FrameType> AllTypes() => Enum.GetValues<FrameType>().Where(t => t != FrameType.None);

    [TestCaseSource(nameof(AllTypes))]
    public void Encode_EveryFrameType_DecodesToTheSameFrame(FrameType type)
    {
        // Arrange
        byte[] payload = type == FrameType.Reset ? [1, 2, 3, 4, 5, 6, 7, 8] : [0x03, 0xA5, 0x96, 0x00, 0xFF];
        byte[] encoded = FrameCodec.Encode(type, ProtocolConstants.FlagAckFree, 200, 17, payload);
        var decoder = new FrameDecoder(ProtocolConstants.DefaultMaxFramePayload);
        var items = new List<DecodedItem>();

        // Act
        decoder.Feed(encoded, items);

        // Assert
        Assert.That(items, Has.Count.EqualTo(1));
        Frame frame = items[0].Frame;
        Assert.That((frame.Type, frame.Flags, frame.Sequence, frame.Ack), Is.EqualTo((type, ProtocolConstants.FlagAckFree, (byte)200, (byte)17)));
        Assert.That(frame.Payload, Is.EqualTo(payload));
    }

    [Test]
    public void Encode_SixtyBytePayload_OverheadIsElevenBytes()
    {
        byte[] encoded = FrameCodec.Encode(FrameType.Data, 0, 1, 2, new byte[60]);
        Assert.That(encoded.Length - 60, Is.EqualTo(11));
        Assert.That(FrameCodec.Overhead(60), Is.EqualTo(11));
    }

    [TestCase(0, 1)]
    [TestCase(127, 1)]
    [TestCase(128, 2)]
    [TestCase(16383, 2)]
    [TestCase(16384, 3)]
    [TestCase(ProtocolConstants.AbsoluteMaxFramePayload, 3)]
    public void LengthFieldSize_Boundaries_AreLeb128Sizes(int length, int expected) =>
        Assert.That(FrameCodec.LengthFieldSize(length), Is.EqualTo(expected));

    [Test]
    public void Encode_Layout_MatchesTheDocumentedByteTable()
    {
        byte[] encoded = FrameCodec.Encode(FrameType.Data, 0, 0x05, 0x09, [0x41, 0x42]);
        Assert.That(encoded[..6], Is.EqualTo(new byte[] { 0xA5, 0x96, 0x01, 0x05, 0x09, 0x02 }));
        Assert.That(encoded[6], Is.EqualTo(Crc8.Compute(encoded.AsSpan(2, 4))));
        Assert.That(encoded[7..9], Is.EqualTo(new byte[] { 0x41, 0x42 }));
        Assert.That(BitConverter.ToUInt32(encoded, 9), Is.EqualTo(Crc32C.Compute(encoded.AsSpan(0, 9))));
    }

    [Test]
    public void Encode_PayloadBeyondAbsoluteLimit_Throws() =>
        Assert.That(() => FrameCodec.Encode(FrameType.Data, 0, 0, 0, new byte[ProtocolConstants.AbsoluteMaxFramePayload + 1]), Throws.InstanceOf<ArgumentOutOfRangeException>());

    [Test]
    public void Encode_InvalidType_Throws() =>
        Assert.That(() => FrameCodec.Encode(FrameType.None, 0, 0, 0, []), Throws.InstanceOf<ArgumentOutOfRangeException>());

    [Test]
    public void Encode_FlagsBeyondNibble_Throws() =>
        Assert.That(() => FrameCodec.Encode(FrameType.Data, 0x10, 0, 0, []), Throws.InstanceOf<ArgumentOutOfRangeException>());

    [Test]
    public void Encode_DestinationTooSmall_Throws() =>
        Assert.That(() => FrameCodec.Encode(FrameType.Data, 0, 0, 0, new byte[10], new byte[12]), Throws.ArgumentException);
}
