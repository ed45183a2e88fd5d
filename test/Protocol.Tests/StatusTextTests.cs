// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Protocol.Tests;

public sealed class StatusTextTests
{
    private static Status[] AllStatuses() => Enum.GetValues<Status>();

    [TestCaseSource(nameof(AllStatuses))]
    public void Describe_EveryStatus_HasItsOwnMessage(Status status) =>
        Assert.That(StatusText.Describe(status), Does.Not.StartWith("unknown status"));

    [Test]
    public void Describe_Messages_AreDistinct() =>
        Assert.That(Enum.GetValues<Status>().Select(StatusText.Describe), Is.Unique);

    [Test]
    public void Describe_UnknownValue_NamesTheNumber() =>
        Assert.That(StatusText.Describe((Status)999), Does.Contain("999"));
}
