// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;
using Microsoft.Extensions.Time.Testing;

namespace HyperDbgRemote.VmxDriver.Tests.Devices;

public sealed class VirtualClockTests
{
    [Test]
    public void Now_FollowsTheHostClock_AndTheTscCountsNanoseconds()
    {
        // Arrange
        var host = new FakeTimeProvider();
        using var clock = new VirtualClock(host);

        // Act
        host.Advance(TimeSpan.FromMilliseconds(1.5));

        // Assert
        Assert.That(clock.NowNanoseconds, Is.EqualTo(1_500_000));
        Assert.That(clock.ReadTsc(), Is.EqualTo(1_500_000UL));
    }

    [Test]
    public void Freeze_HaltedForAMinute_GuestSeesNoTimePass()
    {
        // Arrange
        var host = new FakeTimeProvider();
        using var clock = new VirtualClock(host);
        host.Advance(TimeSpan.FromSeconds(1));

        // Act: a debugger halts the guest for a minute, then continues.
        clock.Freeze();
        host.Advance(TimeSpan.FromMinutes(1));
        long whileFrozen = clock.NowNanoseconds;
        clock.Thaw();
        host.Advance(TimeSpan.FromMilliseconds(10));

        // Assert
        Assert.That(whileFrozen, Is.EqualTo(1_000_000_000));
        Assert.That(clock.NowNanoseconds, Is.EqualTo(1_010_000_000));
        Assert.That(clock.IsFrozen, Is.False);
    }

    [Test]
    public void Freeze_Nested_NeedsAsManyThaws()
    {
        using var clock = new VirtualClock(new FakeTimeProvider());
        clock.Freeze();
        clock.Freeze();
        clock.Thaw();
        Assert.That(clock.IsFrozen, Is.True);
        clock.Thaw();
        Assert.That(clock.IsFrozen, Is.False);
        Assert.That(clock.Thaw, Throws.InvalidOperationException.With.Message.Contains("not frozen"));
    }

    [Test]
    public void Timer_FiresAtItsGuestDeadline_NotWhileFrozen()
    {
        // Arrange
        var host = new FakeTimeProvider();
        using var clock = new VirtualClock(host);
        int fired = 0;
        VirtualTimer timer = clock.CreateTimer(() => fired++);
        timer.ArmAt(5_000_000); // 5 ms of guest time

        // Act / Assert
        host.Advance(TimeSpan.FromMilliseconds(4));
        Assert.That(fired, Is.Zero);
        clock.Freeze();
        host.Advance(TimeSpan.FromSeconds(10));
        Assert.That(fired, Is.Zero, "frozen: guest time stands still");
        clock.Thaw();
        host.Advance(TimeSpan.FromMilliseconds(0.9));
        Assert.That(fired, Is.Zero, "4.9 ms of guest time");
        host.Advance(TimeSpan.FromMilliseconds(0.1));
        Assert.That(fired, Is.EqualTo(1));
        Assert.That(timer.Deadline, Is.Null, "one-shot");
        Assert.That(clock.NextDeadline, Is.Null);
    }

    [Test]
    public void Timer_Cancelled_DoesNotFire()
    {
        var host = new FakeTimeProvider();
        using var clock = new VirtualClock(host);
        int fired = 0;
        VirtualTimer timer = clock.CreateTimer(() => fired++);
        timer.ArmAt(1_000);
        timer.Cancel();
        host.Advance(TimeSpan.FromSeconds(1));
        Assert.That(fired, Is.Zero);
    }

    [Test]
    public void RunDueTimers_TimerRearmedFromNow_CoalescesMissedPeriods()
    {
        // Arrange: a 1 ms periodic device timer that re-arms from the current guest time, as the devices do.
        var host = new FakeTimeProvider();
        using var clock = new VirtualClock(host);
        int fired = 0;
        VirtualTimer? timer = null;
        timer = clock.CreateTimer(() =>
        {
            fired++;
            timer!.ArmAt(clock.NowNanoseconds + 1_000_000);
        });
        timer.ArmAt(1_000_000);

        // Act: the host stalls for a second (one big step).
        host.Advance(TimeSpan.FromSeconds(1));

        // Assert: one callback, not a thousand.
        Assert.That(fired, Is.EqualTo(1));
        Assert.That(timer.Deadline, Is.EqualTo(1_001_000_000));
    }
}
