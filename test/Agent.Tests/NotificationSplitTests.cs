// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Google.Protobuf;
using HyperDbgRemote.Agent.Wire;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Agent.Tests;

/// <summary>Batches of script output larger than a link frame are split, never refused or lost.</summary>
public sealed class NotificationSplitTests
{
    private const int FrameLimit = 64 * 1024;

    private static Notification Batch(IEnumerable<string> texts)
    {
        var output = new ScriptOutputNotification { EventId = 3 };
        output.Texts.Add(texts);
        return new Notification { ScriptOutput = output };
    }

    [Test]
    public void SplitToFit_ManySmallTexts_EveryPieceFitsAndNothingIsLost()
    {
        string[] texts = [.. Enumerable.Range(0, 20_000).Select(i => $"{i:x} 0 1\n")];

        List<AgentToHost> pieces = [.. Notifications.SplitToFit(Batch(texts), FrameLimit)];

        Assert.That(pieces, Has.Count.GreaterThan(1));
        Assert.That(pieces.Select(p => p.CalculateSize()), Has.All.LessThanOrEqualTo(FrameLimit));
        Assert.That(pieces.SelectMany(p => p.Notification.ScriptOutput.Texts), Is.EqualTo(texts));
        Assert.That(pieces.Select(p => p.Notification.ScriptOutput.EventId), Has.All.EqualTo(3));
    }

    [Test]
    public void SplitToFit_OneTextLargerThanAFrame_CutIntoPiecesKeepingSurrogatePairs()
    {
        string text = string.Concat(Enumerable.Repeat("ab\U0001F600", 40_000));

        List<AgentToHost> pieces = [.. Notifications.SplitToFit(Batch([text]), FrameLimit)];

        Assert.That(pieces.Select(p => p.CalculateSize()), Has.All.LessThanOrEqualTo(FrameLimit));
        Assert.That(string.Concat(pieces.SelectMany(p => p.Notification.ScriptOutput.Texts)), Is.EqualTo(text));
        Assert.That(pieces.SelectMany(p => p.Notification.ScriptOutput.Texts).Select(t => char.IsHighSurrogate(t[^1])), Has.None.True);
    }

    [Test]
    public void ForLink_ManySmallTexts_PackedPiecesFitAndUnpackToTheSameTexts()
    {
        string[] texts = [.. Enumerable.Range(0, 20_000).Select(i => $"shell tick {i:D4}\r\n")];

        List<AgentToHost> pieces = [.. Notifications.ForLink(Batch(texts), 2880)];
        int packedBytes = pieces.Sum(p => p.CalculateSize());
        var unpacked = new List<string>();
        foreach (AgentToHost piece in pieces)
        {
            ScriptOutputNotification received = ScriptOutputNotification.Parser.ParseFrom(piece.Notification.ScriptOutput.ToByteArray());
            Assert.That(received.Texts, Is.Empty, "sent in the compact form");
            Assert.That(Protocol.ScriptOutputPacking.TryUnpack(received, out string? error), Is.True, error);
            unpacked.AddRange(received.Texts);
        }

        Assert.That(pieces.Select(p => p.CalculateSize()), Has.All.LessThanOrEqualTo(2880));
        Assert.That(unpacked, Is.EqualTo(texts));
        Assert.That(packedBytes, Is.LessThan(texts.Sum(t => t.Length + 1) * 1.01), "about one byte of overhead per text");
    }

    [Test]
    public void SplitToFit_SmallNotification_Unchanged()
    {
        Notification n = Batch(["hello\n"]);

        List<AgentToHost> pieces = [.. Notifications.SplitToFit(n, FrameLimit)];

        Assert.That(pieces.Single().Notification, Is.EqualTo(n));
    }
}
