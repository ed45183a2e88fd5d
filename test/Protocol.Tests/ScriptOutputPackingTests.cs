// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Google.Protobuf;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Protocol.Tests;

public sealed class ScriptOutputPackingTests
{
    private const string Typical = "shell tick 0001\r\n";

    [Test]
    public void Pack_TypicalBatch_OneByteOfOverheadPerTextAndUnpacksToTheSameTexts()
    {
        // Arrange: 160 typical texts (a quarter second of a 115200-baud line)
        var batch = new ScriptOutputNotification { Texts = { Enumerable.Range(0, 160).Select(i => $"shell tick {i:D4}\r\n") } };
        int textsForm = batch.CalculateSize();

        // Act
        ScriptOutputNotification packed = ScriptOutputPacking.Pack(batch);
        int packedForm = packed.CalculateSize();
        var received = ScriptOutputNotification.Parser.ParseFrom(packed.ToByteArray());
        bool ok = ScriptOutputPacking.TryUnpack(received, out string? error);

        // Assert
        Assert.That(textsForm, Is.EqualTo(160 * (Typical.Length + 2)));
        Assert.That(packedForm, Is.LessThanOrEqualTo((160 * (Typical.Length + 1)) + 8));
        Assert.That(packed.Texts, Is.Empty);
        Assert.That(ok, Is.True, error);
        Assert.That(received.Texts, Is.EqualTo(batch.Texts));
    }

    private static IEnumerable<TestCaseData> Batches()
    {
        yield return new TestCaseData((object)new[] { "é", "€", "𝄞", "a\0b", string.Empty }).SetArgDisplayNames("multi-byte and empty texts");
        yield return new TestCaseData((object)new[] { string.Empty, string.Empty, string.Empty }).SetArgDisplayNames("only empty texts");
        yield return new TestCaseData((object)new[] { new string('x', 300), "y" }).SetArgDisplayNames("a two-byte length");
    }

    [TestCaseSource(nameof(Batches))]
    public void Pack_AnyTexts_RoundTrip(string[] texts)
    {
        var batch = new ScriptOutputNotification { EventId = 7, Texts = { texts } };

        ScriptOutputNotification packed = ScriptOutputPacking.Pack(batch);
        var received = ScriptOutputNotification.Parser.ParseFrom(packed.ToByteArray());

        Assert.That(ScriptOutputPacking.TryUnpack(received, out string? error), Is.True, error);
        Assert.That(received.Texts, Is.EqualTo(texts));
        Assert.That(received.EventId, Is.EqualTo(7));
    }

    [Test]
    public void Pack_OneText_StaysInTheTextsForm()
    {
        var single = new ScriptOutputNotification { EventId = 3, Texts = { Typical } };

        Assert.That(ScriptOutputPacking.Pack(single), Is.SameAs(single));
    }

    [Test]
    public void TryUnpack_BothForms_TextsFirstThenTheJoinedOnes()
    {
        var batch = new ScriptOutputNotification { Texts = { "a" }, Joined = ByteString.CopyFromUtf8("bcc"), Lengths = { 1, 2 } };

        Assert.That(ScriptOutputPacking.TryUnpack(batch, out _), Is.True);
        Assert.That(batch.Texts, Is.EqualTo(new[] { "a", "b", "cc" }));
    }

    [TestCase(new uint[] { 1, 1 }, "abc", "2 text lengths add up to 2 bytes, but 3 bytes came")]
    [TestCase(new uint[] { 4 }, "abc", "1 text lengths add up to 4 bytes, but 3 bytes came")]
    [TestCase(new uint[] { uint.MaxValue, 4 }, "abc", "add up to 4294967299 bytes, but 3 bytes came")]
    public void TryUnpack_LengthsDoNotAddUp_RefusedAndUnchanged(uint[] lengths, string joined, string expected)
    {
        var batch = new ScriptOutputNotification { Texts = { "kept" }, Joined = ByteString.CopyFromUtf8(joined), Lengths = { lengths } };
        ScriptOutputNotification before = batch.Clone();

        bool ok = ScriptOutputPacking.TryUnpack(batch, out string? error);

        Assert.That(ok, Is.False);
        Assert.That(error, Does.Contain(expected));
        Assert.That(batch, Is.EqualTo(before), "nothing changed");
    }

    [Test]
    public void TryUnpack_InvalidUtf8_RefusedNamingTheText()
    {
        var batch = new ScriptOutputNotification { Joined = ByteString.CopyFrom(0x61, 0xC3, 0x28), Lengths = { 1, 2 } };

        bool ok = ScriptOutputPacking.TryUnpack(batch, out string? error);

        Assert.That(ok, Is.False);
        Assert.That(error, Does.Contain("text 1 (bytes 1-2 of the joined texts) is not valid UTF-8"));
        Assert.That(batch.Texts, Is.Empty);
    }
}
