// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;
using HyperDbgRemote.Agent.Gdb;

namespace HyperDbgRemote.Agent.Tests;

public sealed class GdbPacketDecoderTests
{
    private static List<GdbInput> Decode(string text, int max = 64)
    {
        var output = new List<GdbInput>();
        new GdbPacketDecoder(max).Feed(Encoding.Latin1.GetBytes(text), output);
        return output;
    }

    [Test]
    public void Feed_FramedPacket_ReturnsPayload()
    {
        Assert.That(Decode("+$qSupported#37"), Is.EqualTo(new[] { new GdbInput(GdbInputKind.Ack), new GdbInput(GdbInputKind.Packet, "qSupported") }));
    }

    [Test]
    public void Feed_BadChecksum_IsRefusedForResend()
    {
        List<GdbInput> inputs = Decode("$g#00$g#67");
        Assert.That(inputs.Select(i => i.Kind), Is.EqualTo(new[] { GdbInputKind.BadChecksum, GdbInputKind.Packet }));
        Assert.That(inputs[0].Error, Does.Contain("checksum"));
    }

    [Test]
    public void Feed_OversizedPacket_IsRefusedAndTheNextOneDecodes()
    {
        string big = new('a', 100);
        byte sum = 0;
        foreach (char c in big)
        {
            sum += (byte)c;
        }

        List<GdbInput> inputs = Decode($"${big}#{sum:x2}$g#67", max: 64);
        Assert.That(inputs.Select(i => i.Kind), Is.EqualTo(new[] { GdbInputKind.TooLong, GdbInputKind.Packet }));
        Assert.That(inputs[0].Error, Does.Contain("64"));
    }

    [Test]
    public void Feed_EscapedBytesAndBreakIn_AreDecoded()
    {
        // "X0,1:" then an escaped '#' (0x23 ^ 0x20 = 0x03): checksum over the bytes as sent.
        string body = "X0,1:}\u0003";
        byte sum = 0;
        foreach (char c in body)
        {
            sum += (byte)c;
        }

        List<GdbInput> inputs = Decode($"\u0003${body}#{sum:x2}-");
        Assert.That(inputs.Select(i => i.Kind), Is.EqualTo(new[] { GdbInputKind.Interrupt, GdbInputKind.Packet, GdbInputKind.Nack }));
        Assert.That(inputs[1].Payload, Is.EqualTo("X0,1:#"));
    }

    [Test]
    public void Feed_PeerStopsMidPacket_InPacketStaysTrueAndNothingIsReturned()
    {
        var decoder = new GdbPacketDecoder(64);
        var output = new List<GdbInput>();
        decoder.Feed("$m1000,"u8, output);
        Assert.That((output.Count, decoder.InPacket), Is.EqualTo((0, true)));
    }

    [Test]
    public void Frame_EscapesSpecialBytes_AndRoundTrips()
    {
        byte[] framed = GdbPacketDecoder.Frame("a#b}c$d*");
        var output = new List<GdbInput>();
        new GdbPacketDecoder(64).Feed(framed, output);
        Assert.That(output.Single().Payload, Is.EqualTo("a#b}c$d*"));
    }
}
