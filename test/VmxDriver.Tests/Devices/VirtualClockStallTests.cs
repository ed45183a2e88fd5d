// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;
using Iced.Intel;
using Microsoft.Extensions.Time.Testing;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests.Devices;

/// <summary>
/// A stall of a core's thread is no guest time (docs/vmx-driver.md, "Guest time"): host time between two reads of
/// guest time on a core beyond <see cref="VirtualClock.StallFreeNanosecondsPerBlock"/> per block run (plus
/// <see cref="VirtualClock.StallFreeNanosecondsPerRead"/>) is taken out, never below a time already read.
/// </summary>
public sealed class VirtualClockStallTests
{
    private const long AllowedForTwoBlocks = VirtualClock.StallFreeNanosecondsPerRead + (2 * VirtualClock.StallFreeNanosecondsPerBlock);

    [Test]
    public void Read_AfterTheCoreThreadStalled_SeesOnlyTheStallFreeShare()
    {
        // Arrange: this thread is a core's; 2 blocks run while the host does not run it for 500 µs.
        var host = new FakeTimeProvider();
        using var clock = new VirtualClock(host);
        ulong blocks = 0;
        clock.WatchStallsOfThisThread(() => blocks);
        long before = clock.NowNanoseconds;

        // Act
        blocks += 2;
        host.Advance(TimeSpan.FromMicroseconds(500));
        long after = clock.NowNanoseconds;

        // Assert
        Assert.That(after - before, Is.EqualTo(AllowedForTwoBlocks));
        Assert.That(clock.StalledNanoseconds, Is.EqualTo(500_000 - AllowedForTwoBlocks));
    }

    [Test]
    public void Read_AfterManyBlocks_SeesAllTheHostTime()
    {
        // Arrange
        var host = new FakeTimeProvider();
        using var clock = new VirtualClock(host);
        ulong blocks = 0;
        clock.WatchStallsOfThisThread(() => blocks);
        long before = clock.NowNanoseconds;

        // Act: a million blocks in 10 ms is guest work, not a stall.
        blocks += 1_000_000;
        host.Advance(TimeSpan.FromMilliseconds(10));

        // Assert
        Assert.That(clock.NowNanoseconds - before, Is.EqualTo(10_000_000));
        Assert.That(clock.StalledNanoseconds, Is.Zero);
    }

    [Test]
    public void DiscountsCoreStallsOff_ReadAfterAStall_FollowsTheHost()
    {
        var host = new FakeTimeProvider();
        using var clock = new VirtualClock(host) { DiscountsCoreStalls = false };
        clock.WatchStallsOfThisThread(() => 0);
        _ = clock.NowNanoseconds;
        host.Advance(TimeSpan.FromSeconds(4));
        Assert.That(clock.NowNanoseconds, Is.EqualTo(4_000_000_000));
        Assert.That(clock.StalledNanoseconds, Is.Zero);
    }

    [Test]
    public void Read_OnAThreadThatIsNoCore_FollowsTheHost()
    {
        var host = new FakeTimeProvider();
        using var clock = new VirtualClock(host);
        host.Advance(TimeSpan.FromMicroseconds(500));
        Assert.That(clock.NowNanoseconds, Is.EqualTo(500_000));
        Assert.That(clock.StalledNanoseconds, Is.Zero);
    }

    [Test]
    public void RestartStallWatch_AfterASleepInHlt_TheSleepIsGuestTime()
    {
        // Arrange
        var host = new FakeTimeProvider();
        using var clock = new VirtualClock(host);
        clock.WatchStallsOfThisThread(() => 0);
        long before = clock.NowNanoseconds;

        // Act: the core sleeps 10 ms in HLT (no block runs), then runs again.
        host.Advance(TimeSpan.FromMilliseconds(10));
        clock.RestartStallWatch();
        long after = clock.NowNanoseconds;

        // Assert
        Assert.That(after - before, Is.EqualTo(10_000_000));
    }

    [Test]
    public void Stall_WhileAnotherThreadReadTheTime_IsNotTakenBackBelowThatRead()
    {
        // Arrange
        var host = new FakeTimeProvider();
        using var clock = new VirtualClock(host);
        clock.WatchStallsOfThisThread(() => 0);
        _ = clock.NowNanoseconds;

        // Act: the core stalls 500 µs; another core (or a device's thread) reads guest time in that while.
        host.Advance(TimeSpan.FromMicroseconds(500));
        long other = Task.Run(() => clock.NowNanoseconds).GetAwaiter().GetResult();
        long mine = clock.NowNanoseconds;

        // Assert: guest time never goes back; only what no one read may be taken out.
        Assert.That(other, Is.EqualTo(500_000));
        Assert.That(mine, Is.EqualTo(500_000));
        Assert.That(clock.StalledNanoseconds, Is.Zero);
    }

    [Test]
    public void Stall_WhileFrozen_TakesNothing()
    {
        var host = new FakeTimeProvider();
        using var clock = new VirtualClock(host);
        clock.WatchStallsOfThisThread(() => 0);
        _ = clock.NowNanoseconds;
        clock.Freeze();
        host.Advance(TimeSpan.FromMilliseconds(5));
        Assert.That(clock.NowNanoseconds, Is.Zero);
        clock.Thaw();
        Assert.That(clock.StalledNanoseconds, Is.Zero);
    }

    [Test]
    public void WatchStallsOfThisThread_NullCounter_Throws()
    {
        using var clock = new VirtualClock(new FakeTimeProvider());
        Assert.That(() => clock.WatchStallsOfThisThread(null!), Throws.ArgumentNullException);
    }

    [Test]
    public void LateTimerFiredOnCore_AfterAReadPastItsDeadline_DoesNotTakeTimeBack()
    {
        // Arrange: a host timer that never fires by itself, so a read can pass a due timer's deadline before a core
        // fires it (a device read it, or the host ran the core late).
        var host = new ManualTimeProvider();
        using var clock = new VirtualClock(host);
        clock.CreateTimer(() => { }).ArmAt(1_000_000);
        host.Now = 5_000_000;
        long read = clock.NowNanoseconds;

        // Act: the core fires the timer 4 ms late.
        int fired = clock.RunDueTimersOnCore();

        // Assert: the lateness beyond 1 ms is not taken out below the read (before, guest time went back to 2 ms).
        Assert.That(fired, Is.EqualTo(1));
        Assert.That(read, Is.EqualTo(5_000_000));
        Assert.That(clock.NowNanoseconds, Is.GreaterThanOrEqualTo(read));
    }

    [Test]
    public void Guest_PollingWhileItsCoreStalls_SeesNoGapInItsTsc()
    {
        // Arrange: a guest reads its TSC, writes port 99h (a device that stands for a host stall: it advances the host
        // clock by 1 ms, as a preemption of the core's thread would), reads its TSC again, and keeps the difference.
        var host = new FakeTimeProvider();
        using TestVm t = TestVm.Create64(
            a =>
            {
                a.rdtsc();
                a.mov(ebx, eax);
                a.mov(ecx, edx);
                a.@out(0x99, al);
                a.rdtsc();
                a.shl(rdx, 32);
                a.or(rax, rdx);
                a.shl(rcx, 32);
                a.or(rcx, rbx);
                a.sub(rax, rcx);
                a.mov(__qword_ptr[TestVm.DataAddress], rax);
                a.hlt();
                return Array.Empty<Label>();
            },
            out _,
            host);
        t.Vm.Ports.Register(0x99, 1, new StallingPort(host, TimeSpan.FromMilliseconds(1)));

        // Act
        t.Run();

        // Assert: the 1 ms stall inside the OUT is not guest time; the few blocks between the reads are.
        Assert.That(t.Vm.Memory.TryRead(TestVm.DataAddress, out ulong delta), Is.True);
        Assert.That(delta, Is.LessThanOrEqualTo((ulong)(VirtualClock.StallFreeNanosecondsPerRead + (4 * VirtualClock.StallFreeNanosecondsPerBlock))));
        Assert.That(t.Devices.Clock.StalledNanoseconds, Is.GreaterThan(900_000));
    }

    /// <summary>A port whose write advances the fake host clock: a stall of the core's thread inside an exit.</summary>
    private sealed class StallingPort(FakeTimeProvider host, TimeSpan stall) : IIoPortHandler
    {
        public byte ReadByte(ushort port) => 0xFF;

        public void WriteByte(ushort port, byte value) => host.Advance(stall);
    }

    /// <summary>A host clock set by hand whose timers never fire by themselves.</summary>
    private sealed class ManualTimeProvider : TimeProvider
    {
        public long Now { get; set; }

        public override long TimestampFrequency => 1_000_000_000;

        public override long GetTimestamp() => Now;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => new NeverTimer();

        private sealed class NeverTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
