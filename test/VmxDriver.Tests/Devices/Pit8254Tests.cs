// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;
using Microsoft.Extensions.Time.Testing;

namespace HyperDbgRemote.VmxDriver.Tests.Devices;

/// <summary>The 8254 on guest time, checked against QEMU's i8254 formulas (pit_get_count, pit_get_out).</summary>
public sealed class Pit8254Tests : IDisposable
{
    private FakeTimeProvider _host = null!;
    private VirtualClock _clock = null!;

    [SetUp]
    public void SetUp()
    {
        _host = new FakeTimeProvider();
        _clock = new VirtualClock(_host);
    }

    [TearDown]
    public void Dispose() => _clock?.Dispose();

    /// <summary>Advances guest time in steps so every timer on the way fires.</summary>
    private void Run(TimeSpan total, TimeSpan step)
    {
        for (TimeSpan t = TimeSpan.Zero; t < total; t += step)
        {
            _host.Advance(step);
        }
    }

    private static void Program(Pit8254 pit, int channel, int mode, int count)
    {
        pit.WriteByte(0x43, (byte)((channel << 6) | 0x30 | (mode << 1))); // LSB then MSB
        pit.WriteByte((ushort)(0x40 + channel), (byte)count);
        pit.WriteByte((ushort)(0x40 + channel), (byte)(count >> 8));
    }

    private static int ReadLatched(Pit8254 pit, int channel)
    {
        pit.WriteByte(0x43, (byte)(channel << 6)); // counter latch
        return pit.ReadByte((ushort)(0x40 + channel)) | (pit.ReadByte((ushort)(0x40 + channel)) << 8);
    }

    [Test]
    public void Reset_Channel0InMode3_RaisesIrq0At18Hz()
    {
        // QEMU's pit_reset_common: mode 3, count 65536 (18.2 Hz), channel 0 wired to IRQ0.
        var irq = new RecordingLine();
        var pit = new Pit8254(_clock, irq);
        Run(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(1));
        Assert.That(pit.Mode(0), Is.EqualTo(3));
        Assert.That(irq.RisingEdges, Is.InRange(18, 19));
    }

    [Test]
    public void Mode2_RateGenerator_OneIrqPerPeriod()
    {
        // Arrange: Linux's PIT tick: mode 2, LATCH = 1193 (1 kHz).
        var irq = new RecordingLine();
        var pit = new Pit8254(_clock, irq);
        Program(pit, 0, 2, 1193);
        int before = irq.RisingEdges;

        // Act
        Run(TimeSpan.FromMilliseconds(100), TimeSpan.FromMicroseconds(100));

        // Assert
        Assert.That(irq.RisingEdges - before, Is.InRange(99, 100));
    }

    [Test]
    public void Mode0_OneShot_RaisesIrq0OnceAtTerminalCount()
    {
        var irq = new RecordingLine();
        var pit = new Pit8254(_clock, irq);
        Program(pit, 0, 0, 11932); // 10 ms
        int before = irq.RisingEdges;
        Assert.That(irq.High, Is.False, "mode 0 starts low");
        Run(TimeSpan.FromMilliseconds(9.9), TimeSpan.FromMicroseconds(100));
        Assert.That(irq.High, Is.False);
        Run(TimeSpan.FromMilliseconds(0.2), TimeSpan.FromMicroseconds(100));
        Assert.That((irq.High, irq.RisingEdges - before), Is.EqualTo((true, 1)));
        Run(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(1));
        Assert.That((irq.High, irq.RisingEdges - before), Is.EqualTo((true, 1)), "stays high until reprogrammed");
    }

    [TestCase(4, Description = "software-triggered strobe: OUT pulses for one tick (Linux's oneshot clockevent)")]
    [TestCase(0, Description = "interrupt on terminal count")]
    public void OneShot_TimerFiredLongAfterItsShortCount_StillRaisesIrq0Once(int mode)
    {
        // Arrange: a one-shot of 10 ticks (8.4 µs), the host running its timer a millisecond late.
        var irq = new RecordingLine();
        var pit = new Pit8254(_clock, irq);
        Program(pit, 0, mode, 10);
        int before = irq.RisingEdges;

        // Act
        _host.Advance(TimeSpan.FromMilliseconds(1));
        _host.Advance(TimeSpan.FromMilliseconds(10));

        // Assert: the edge is not skipped (before, a late mode-4 timer evaluated from now found the pulse over).
        Assert.That(irq.RisingEdges - before, Is.EqualTo(1));
    }

    [Test]
    public void Mode2_HostStalledForASecond_OneInterruptNotAThousand()
    {
        var irq = new RecordingLine();
        var pit = new Pit8254(_clock, irq);
        Program(pit, 0, 2, 1193);
        int before = irq.RisingEdges;
        _host.Advance(TimeSpan.FromSeconds(1));
        Assert.That(irq.RisingEdges - before, Is.LessThanOrEqualTo(2));
    }

    [TestCase(2, 0x1000, 1, 0x1000 - 1193, Description = "mode 2: count - d % count")]
    [TestCase(3, 0x1000, 1, 0x1000 - (2 * 1193 % 0x1000), Description = "mode 3 counts down by two")]
    [TestCase(0, 0x1000, 1, 0x1000 - 1193, Description = "mode 0: (count - d) & 0xFFFF")]
    [TestCase(0, 0x0100, 1, (0x100 - 1193) & 0xFFFF, Description = "mode 0 wraps after terminal count")]
    public void Count_AfterOneMillisecond_IsQemusFormula(int mode, int count, int milliseconds, int expected)
    {
        var pit = new Pit8254(_clock);
        Program(pit, 0, mode, count);
        _host.Advance(TimeSpan.FromMilliseconds(milliseconds));
        Assert.That(ReadLatched(pit, 0), Is.EqualTo(expected));
    }

    [Test]
    public void Latch_HoldsTheCountUntilRead()
    {
        var pit = new Pit8254(_clock);
        Program(pit, 0, 2, 0x1000);
        _host.Advance(TimeSpan.FromMilliseconds(1));
        pit.WriteByte(0x43, 0x00);
        _host.Advance(TimeSpan.FromMilliseconds(1));
        int latched = pit.ReadByte(0x40) | (pit.ReadByte(0x40) << 8);
        Assert.That(latched, Is.EqualTo(0x1000 - 1193), "the value at the latch command, not now");
    }

    [Test]
    public void ReadBack_StatusCarriesOutAccessModeAndMode()
    {
        var pit = new Pit8254(_clock);
        Program(pit, 2, 0, 100);
        _host.Advance(TimeSpan.FromMilliseconds(1)); // past terminal count: OUT high
        pit.WriteByte(0x43, 0xE8); // read-back status of channel 2
        Assert.That(pit.ReadByte(0x42), Is.EqualTo(0x80 | (3 << 4) | (0 << 1)));
    }

    [Test]
    public void Port61_LinuxTscCalibration_Out2RisesAfterTheLatch()
    {
        // Arrange: what pit_calibrate_tsc does: gate on, speaker off, channel 2 mode 0, about 50 ms.
        var pit = new Pit8254(_clock);
        var port61 = new SystemControlPortB(pit);
        port61.WriteByte(0x61, (byte)((port61.ReadByte(0x61) & ~0x02) | 0x01));
        pit.WriteByte(0x43, 0xB0);
        pit.WriteByte(0x42, 0x0B);
        pit.WriteByte(0x42, 0xE9); // 0xE90B = 59659 = 50 ms

        // Act / Assert
        Assert.That(port61.ReadByte(0x61) & 0x20, Is.Zero, "OUT2 low while counting");
        _host.Advance(TimeSpan.FromMilliseconds(49.9));
        Assert.That(port61.ReadByte(0x61) & 0x20, Is.Zero);
        _host.Advance(TimeSpan.FromMilliseconds(0.2));
        Assert.That(port61.ReadByte(0x61) & 0x21, Is.EqualTo(0x21), "OUT2 high, gate still on");
    }

    [Test]
    public void Port61_RefreshBitTogglesOnEveryRead_AndSpeakerBitReadsBack()
    {
        var port61 = new SystemControlPortB(new Pit8254(_clock));
        port61.WriteByte(0x61, 0x03);
        byte a = port61.ReadByte(0x61);
        byte b = port61.ReadByte(0x61);
        Assert.That((a ^ b) & 0x10, Is.EqualTo(0x10));
        Assert.That(a & 0x03, Is.EqualTo(0x03));
    }

    [Test]
    public void Gate2_RisingEdgeRestartsMode2()
    {
        var pit = new Pit8254(_clock);
        Program(pit, 2, 2, 0x1000);
        _host.Advance(TimeSpan.FromMilliseconds(1));
        pit.SetGate(2, false);
        pit.SetGate(2, true);
        Assert.That(ReadLatched(pit, 2), Is.EqualTo(0x1000), "counting restarted from the full count");
    }
}
