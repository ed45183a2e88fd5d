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

    [Test]
    public void HostTimer_ACallbackThrows_ReportedAndCounted_NotThrownOnTheTimerThread_AndLaterTimersStillFire()
    {
        // Arrange: a device's timer callback fails on the host timer's thread (FakeTimeProvider runs it in Advance;
        // with the system's timer an exception there would end the process).
        var host = new FakeTimeProvider();
        using var clock = new VirtualClock(host);
        var reported = new List<Exception>();
        clock.ReportFailuresTo(reported.Add);
        VirtualTimer failing = clock.CreateTimer(() => throw new InvalidOperationException("device model bug"));
        int fired = 0;
        VirtualTimer later = clock.CreateTimer(() => fired++);
        failing.ArmAt(1_000_000);
        later.ArmAt(5_000_000);

        // Act
        host.Advance(TimeSpan.FromMilliseconds(2));
        host.Advance(TimeSpan.FromMilliseconds(4));

        // Assert
        Assert.That(reported.Select(e => e.Message), Is.EqualTo(new[] { "device model bug" }));
        Assert.That(clock.HostTimerFailures, Is.EqualTo(1));
        Assert.That(fired, Is.EqualTo(1), "the host timer was armed again after the failure");
    }

    [Test]
    public void HostTimer_ThePacerThrows_ReportedAndCounted_AndRetriedWithoutSpinning()
    {
        // Arrange
        var host = new FakeTimeProvider();
        using var clock = new VirtualClock(host);
        Exception? reported = null;
        clock.ReportFailuresTo(e => reported = e);
        clock.PaceBy(() => throw new InvalidOperationException("Collection was modified"));
        clock.CreateTimer(() => { }).ArmAt(1_000_000);

        // Act
        host.Advance(TimeSpan.FromMilliseconds(1.5));
        int once = clock.HostTimerFailures;
        host.Advance(TimeSpan.FromMilliseconds(1));

        // Assert: reported, and a failure that repeats is retried after the paced retry (1 ms), not in a spin.
        Assert.That(reported?.Message, Is.EqualTo("Collection was modified"));
        Assert.That((once, clock.HostTimerFailures), Is.EqualTo((1, 2)));
    }

    [Test]
    public void ReportFailuresTo_Null_Throws()
    {
        using var clock = new VirtualClock(new FakeTimeProvider());
        Assert.That(() => clock.ReportFailuresTo(null!), Throws.ArgumentNullException);
    }

    [Test]
    public void PacedByARunningCore_HostStalledForASecond_OneCallback_AndGuestTimeHeldAtTheDeadline()
    {
        // Arrange: the same timer, on a clock whose machine has a core running guest code (the pacer answers false).
        var host = new FakeTimeProvider();
        using var clock = new VirtualClock(host);
        int paced = 0;
        clock.PaceBy(() =>
        {
            paced++;
            return false;
        });
        int fired = 0;
        VirtualTimer? timer = null;
        timer = clock.CreateTimer(() =>
        {
            fired++;
            timer!.ArmAt(clock.NowNanoseconds + 1_000_000);
        });
        timer.ArmAt(1_000_000);

        // Act: the host stalls for a second; the core fires what is due when it gets the CPU again.
        host.Advance(TimeSpan.FromSeconds(1));
        long held = clock.NowNanoseconds;
        int firedBeforeTheCore = fired;
        clock.RunDueTimersOnCore();

        // Assert: the host timer left the timer to the core, guest time stood at the deadline plus 1 ms, and the core's
        // firing took the rest of the stall out of guest time: no second of guest time passed without its callbacks.
        Assert.That((paced, firedBeforeTheCore, held), Is.EqualTo((1, 0, 2_000_000L)));
        Assert.That(fired, Is.EqualTo(1));
        Assert.That(clock.NowNanoseconds, Is.EqualTo(2_000_000));
        Assert.That(timer.Deadline, Is.EqualTo(3_000_000));
    }

    /// <summary>What a core that runs guest code but gets the host's CPU only now and then (the host under load) is away
    /// for between its looks at the clock, in microseconds: up to 60 ms, as a descheduled thread is.</summary>
    private static readonly int[] s_awayMicroseconds = [100, 3_900, 60_000, 250, 17_000, 4_000, 1, 45_000, 900, 8_100, 12_000, 3_999, 30_000];

    [Test]
    public void PacedByACoreAwayFromTheCpu_PitTicksDeliveredAgreeWithTheTscDelta()
    {
        // Arrange: Linux's HZ=250 tick (PIT channel 0, mode 2, LATCH 4773: 4.0 ms); the clock is paced by a core that
        // runs guest code (the host timer never fires timers itself) and fires them only when it gets the CPU.
        var host = new FakeTimeProvider();
        using var clock = new VirtualClock(host);
        clock.PaceBy(() => false);
        var irq = new RecordingLine();
        var pit = new Pit8254(clock, irq);
        pit.WriteByte(0x43, 0x34);
        pit.WriteByte(0x40, 4773 & 0xFF);
        pit.WriteByte(0x40, 4773 >> 8);
        long period = (long)((Int128)4773 * 1_000_000_000 / Pit8254.FrequencyHz);
        ulong tsc0 = clock.ReadTsc();
        int edges0 = irq.RisingEdges;
        long hostAway = 0;

        foreach (int away in s_awayMicroseconds)
        {
            // Act: the core is away, then reads the TSC as its RDTSC does (firing what is due first).
            host.Advance(TimeSpan.FromMicroseconds(away));
            hostAway += away * 1_000L;
            long beforeFiring = (long)(clock.ReadTsc() - tsc0);
            clock.RunDueTimersOnCore();
            long tsc = (long)(clock.ReadTsc() - tsc0);
            int ticks = irq.RisingEdges - edges0;

            // Assert: guest time never ran more than 1 ms past a tick not delivered, and the ticks are those of the
            // TSC's periods (the one in its first 838 ns pulse may still be low).
            Assert.That(beforeFiring, Is.LessThanOrEqualTo(((ticks + 1) * period) + VirtualClock.MaxTimerLatenessNanoseconds + 1_000), $"after {away} µs away");
            Assert.That(ticks, Is.InRange((tsc / period) - 1, tsc / period), $"ticks at TSC delta {tsc} ns after {away} µs away");
        }

        Assert.That((long)(clock.ReadTsc() - tsc0), Is.LessThan(hostAway / 2), "the host's stalls were taken out of guest time");
    }

    [Test]
    public void PacedByACoreAwayFromTheCpu_LocalApicTimerTicksAgreeWithTheTscDelta()
    {
        // Arrange: the local APIC timer periodic at 4 ms (divide by 1, 4,000,000 counts), vector 0xEC, paced as above.
        var host = new FakeTimeProvider();
        using var clock = new VirtualClock(host);
        clock.PaceBy(() => false);
        var apic = new LocalApic(0, bootstrap: true, new ApicBus(), clock, null);
        apic.Write(LocalApicRegisters.SpuriousVector, 4, 0x1FF);
        apic.Write(LocalApicRegisters.TimerDivide, 4, 0xB);
        apic.Write(LocalApicRegisters.LvtTimer, 4, (1u << 17) | 0xEC);
        const long period = 4_000_000;
        ulong tsc0 = clock.ReadTsc();
        apic.Write(LocalApicRegisters.TimerInitialCount, 4, (ulong)(period / apic.TimerTickNanoseconds));
        int ticks = 0;

        foreach (int away in s_awayMicroseconds)
        {
            // Act: away, then the core fires what is due and takes the interrupt (INTA, EOI), as its block boundary does.
            host.Advance(TimeSpan.FromMicroseconds(away));
            clock.RunDueTimersOnCore();
            if (apic.IsRequested(0xEC))
            {
                Assert.That(apic.AcknowledgeInterrupt(), Is.EqualTo(0xEC));
                apic.Write(LocalApicRegisters.Eoi, 4, 0);
                ticks++;
            }

            // Assert: one interrupt per period of the TSC, none lost to a core that was away.
            long tsc = (long)(clock.ReadTsc() - tsc0);
            Assert.That(ticks, Is.EqualTo(tsc / period), $"ticks at TSC delta {tsc} ns after {away} µs away");
        }
    }
}
