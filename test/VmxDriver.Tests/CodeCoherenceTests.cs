// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>The bookkeeping behind cross-modifying code (<see cref="CodeCoherence"/>), without an engine: who is told
/// of a write, and when a core must flush its TLB.</summary>
public sealed class CodeCoherenceTests
{
    private const ulong Page = 0x11000;

    private static (CodeCoherence Coherence, CodeCoherence.Member[] Cores, int[] Wakes) Machine(int cores)
    {
        var coherence = new CodeCoherence();
        int[] wakes = new int[cores];
        CodeCoherence.Member[] members = [.. Enumerable.Range(0, cores).Select(i => coherence.Join(() => wakes[i]++))];
        return (coherence, members, wakes);
    }

    [Test]
    public void Written_ToAnotherCoresCode_QueuesTheRangeForThatCoreOnly_AndWakesIt()
    {
        // Arrange: core 1 holds code on the page, core 2 none.
        (CodeCoherence c, CodeCoherence.Member[] cores, int[] wakes) = Machine(3);
        c.CodeAdded(cores[1], Page + 0x10);
        _ = CodeCoherence.TakeWork(cores[0]);
        _ = CodeCoherence.TakeWork(cores[2]);
        Array.Clear(wakes);

        // Act
        bool keepChecking = c.Written(cores[0], Page + 0x41, 4);

        // Assert
        Assert.That(keepChecking, Is.True);
        CodeWork work = CodeCoherence.TakeWork(cores[1]);
        Assert.That(work.Ranges, Is.EqualTo(new[] { (Page, Page + 0x1000) }), "the written page");
        Assert.That(work.FlushTlb, Is.False);
        Assert.That(CodeCoherence.TakeWork(cores[0]).IsEmpty && CodeCoherence.TakeWork(cores[2]).IsEmpty, Is.True);
        Assert.That(wakes, Is.EqualTo(new[] { 0, 1, 0 }));
        Assert.That(CodeCoherence.TakeWork(cores[1]).IsEmpty, Is.True, "taken once");
    }

    [Test]
    public void Written_ToOwnCodeOrToData_QueuesNothing_AndKeepsCheckingOnlyCode()
    {
        // Arrange
        (CodeCoherence c, CodeCoherence.Member[] cores, _) = Machine(2);
        c.CodeAdded(cores[0], Page);
        _ = CodeCoherence.TakeWork(cores[1]);

        // Act
        bool own = c.Written(cores[0], Page + 8, 1);
        bool data = c.Written(cores[1], Page + 0x1000, 8);

        // Assert
        Assert.That((own, data), Is.EqualTo((true, false)));
        Assert.That(CodeCoherence.TakeWork(cores[0]).IsEmpty && CodeCoherence.TakeWork(cores[1]).IsEmpty, Is.True);
    }

    [Test]
    public void CodeAdded_OnAPageNoCoreHeldCodeOf_MakesTheOthersFlushTheirTlbs_ASecondHolderDoesNot()
    {
        // Arrange
        (CodeCoherence c, CodeCoherence.Member[] cores, _) = Machine(3);

        // Act
        c.CodeAdded(cores[0], Page);
        CodeWork first1 = CodeCoherence.TakeWork(cores[1]);
        CodeWork first2 = CodeCoherence.TakeWork(cores[2]);
        c.CodeAdded(cores[1], Page + 0xFFF);

        // Assert
        Assert.That((first1.FlushTlb, first2.FlushTlb), Is.EqualTo((true, true)));
        Assert.That(CodeCoherence.TakeWork(cores[0]).IsEmpty, Is.True, "the adding core's own checks come from its engine");
        Assert.That(CodeCoherence.TakeWork(cores[2]).IsEmpty, Is.True, "the page was checked everywhere already");
        Assert.That(c.CodePages, Is.EqualTo(1));
    }

    [Test]
    public void CodeRemoved_ByEveryHolder_ForgetsThePage()
    {
        // Arrange
        (CodeCoherence c, CodeCoherence.Member[] cores, _) = Machine(2);
        c.CodeAdded(cores[0], Page);
        c.CodeAdded(cores[1], Page);

        // Act
        c.CodeRemoved(cores[0], Page);
        bool afterOne = c.Written(cores[1], Page, 1);
        c.CodeRemoved(cores[1], Page);
        bool afterBoth = c.Written(cores[1], Page, 1);

        // Assert
        Assert.That((afterOne, afterBoth, c.CodePages), Is.EqualTo((true, false, 0)));
        Assert.That(CodeCoherence.TakeWork(cores[0]).Ranges, Is.Empty, "core 0 no longer held the page");
    }

    [Test]
    public void Written_AgainToAQueuedPage_QueuesItOnce_AsTheWholePage()
    {
        // Arrange
        (CodeCoherence c, CodeCoherence.Member[] cores, _) = Machine(2);
        c.CodeAdded(cores[1], Page);
        c.CodeAdded(cores[1], Page + 0x1000);

        // Act
        c.Written(cores[0], Page + 0x10, 1);
        c.Written(cores[0], Page + 0x800, 8);
        c.Written(cores[0], Page + 0x1004, 4);
        CodeWork first = CodeCoherence.TakeWork(cores[1]);
        c.Written(cores[0], Page + 0x20, 1);
        CodeWork second = CodeCoherence.TakeWork(cores[1]);

        // Assert
        Assert.That(first.Ranges, Is.EqualTo(new[] { (Page, Page + 0x1000), (Page + 0x1000, Page + 0x2000) }));
        Assert.That(second.Ranges, Is.EqualTo(new[] { (Page, Page + 0x1000) }), "taken, the page is queued again");
    }
}
