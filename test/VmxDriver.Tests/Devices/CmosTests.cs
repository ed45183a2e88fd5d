// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;
using Microsoft.Extensions.Time.Testing;

namespace HyperDbgRemote.VmxDriver.Tests.Devices;

/// <summary>The MC146818 RTC on guest time (datasheet register behaviour, QEMU's mc146818rtc.c facts).</summary>
public sealed class CmosTests : IDisposable
{
    private FakeTimeProvider _host = null!;
    private RecordingLine _irq = null!;
    private VirtualClock _clock = null!;
    private Cmos _cmos = null!;

    [SetUp]
    public void SetUp()
    {
        // 2026-11-24 13:45:58.5 UTC at power-on.
        _host = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 13, 45, 58, 500, TimeSpan.Zero));
        _irq = new RecordingLine();
        _clock = new VirtualClock(_host);
        _cmos = new Cmos(128UL * 1024 * 1024, 1, _clock, _irq);
    }

    [TearDown]
    public void Dispose() => _clock?.Dispose();

    private byte Read(byte index)
    {
        _cmos.WriteByte(0x70, index);
        return _cmos.ReadByte(0x71);
    }

    private void Write(byte index, byte value)
    {
        _cmos.WriteByte(0x70, index);
        _cmos.WriteByte(0x71, value);
    }

    [TestCase((byte)0x02, new byte[] { 0x58, 0x45, 0x13, 0x03, 0x24, 0x11, 0x26, 0x20 }, Description = "BCD, 24-hour (the reset mode)")]
    [TestCase((byte)0x06, new byte[] { 58, 45, 13, 3, 24, 11, 26, 20 }, Description = "binary, 24-hour")]
    [TestCase((byte)0x00, new byte[] { 0x58, 0x45, 0x81, 0x03, 0x24, 0x11, 0x26, 0x20 }, Description = "BCD, 12-hour: 1 PM")]
    [TestCase((byte)0x04, new byte[] { 58, 45, 0x81, 3, 24, 11, 26, 20 }, Description = "binary, 12-hour")]
    public void Clock_FormatsPerRegisterB(byte registerB, byte[] expected)
    {
        // seconds, minutes, hours, weekday (Tuesday = 3), day, month, year, century
        Write(0x0B, registerB);
        byte[] got = [Read(0x00), Read(0x02), Read(0x04), Read(0x06), Read(0x07), Read(0x08), Read(0x09), Read(0x32)];
        Assert.That(got, Is.EqualTo(expected));
    }

    [Test]
    public void Clock_RunsOnGuestTime_AndStandsStillWhileFrozen()
    {
        _host.Advance(TimeSpan.FromSeconds(2));
        Assert.That(Read(0x00), Is.EqualTo(0x00), "58.5 + 2 = 00.5 of the next minute");
        Assert.That(Read(0x02), Is.EqualTo(0x46));
        _clock.Freeze();
        _host.Advance(TimeSpan.FromMinutes(5));
        Assert.That(Read(0x02), Is.EqualTo(0x46), "a halted guest's clock falls behind");
    }

    [Test]
    public void UpdateInProgress_SetInTheLast244MicrosecondsOfASecond()
    {
        _host.Advance(TimeSpan.FromMilliseconds(499.7)); // .2 ms before the update
        Assert.That(Read(0x0A) & 0x80, Is.Zero);
        _host.Advance(TimeSpan.FromMilliseconds(0.1)); // 100 µs before: inside the 244 µs window
        Assert.That(Read(0x0A), Is.EqualTo(0xA6));
        _host.Advance(TimeSpan.FromMilliseconds(0.2));
        Assert.That(Read(0x0A), Is.EqualTo(0x26));
    }

    [Test]
    public void SetBit_StopsTheClock_WritesTakeEffectWhenCleared()
    {
        Write(0x0B, 0x82); // SET
        Write(0x04, 0x09);
        Write(0x02, 0x30);
        Write(0x00, 0x00);
        _host.Advance(TimeSpan.FromSeconds(10));
        Assert.That(Read(0x00), Is.EqualTo(0x00), "stopped while SET");
        Write(0x0B, 0x02);
        _host.Advance(TimeSpan.FromSeconds(3));
        Assert.That((Read(0x04), Read(0x02), Read(0x00)), Is.EqualTo(((byte)0x09, (byte)0x30, (byte)0x03)));
    }

    [Test]
    public void UpdateEndedInterrupt_Irq8AtTheNextSecond_RegisterCReadClears()
    {
        // Arrange
        Read(0x0C);
        Write(0x0B, 0x12); // UIE

        // Act / Assert
        _host.Advance(TimeSpan.FromMilliseconds(499));
        Assert.That(_irq.High, Is.False);
        _host.Advance(TimeSpan.FromMilliseconds(2));
        Assert.That(_irq.High, Is.True);
        Assert.That(Read(0x0C) & 0xB0, Is.EqualTo(0x90), "IRQF | UF (PF is set too: the periodic rate runs without PIE)");
        Assert.That((_irq.High, Read(0x0C)), Is.EqualTo((false, (byte)0x00)), "read to clear");
    }

    [Test]
    public void PeriodicInterrupt_1024Hz_Irq8EveryPeriod()
    {
        // Arrange: rate 6 = 1024 Hz (976.5625 µs), PIE.
        Write(0x0A, 0x26);
        Write(0x0B, 0x42);
        int edges = 0;

        // Act: ten periods, acknowledging each interrupt by reading C as a handler does.
        for (int i = 0; i < 100; i++)
        {
            _host.Advance(TimeSpan.FromMicroseconds(100));
            if (_irq.High)
            {
                edges++;
                Assert.That(Read(0x0C) & 0xC0, Is.EqualTo(0xC0));
            }
        }

        // Assert
        Assert.That(edges, Is.EqualTo(10));
    }

    /// <summary>The datasheet: PF is set at the periodic rate whatever PIE says. (QEMU 7.2 runs its periodic timer
    /// only with PIE, so its PF stays clear here.)</summary>
    [Test]
    public void PeriodicFlag_SetWithoutPie_NoInterrupt()
    {
        Read(0x0C);
        _host.Advance(TimeSpan.FromMilliseconds(2));
        Assert.That((Read(0x0C) & 0x40, _irq.High), Is.EqualTo((0x40, false)));
    }

    [Test]
    public void Alarm_DontCareHours_FiresWhenMinutesAndSecondsMatch()
    {
        Write(0x01, 0x00); // seconds 00
        Write(0x03, 0x46); // minutes 46
        Write(0x05, 0xC0); // any hour
        Write(0x0B, 0x22); // AIE
        _host.Advance(TimeSpan.FromSeconds(1.4));
        Assert.That(_irq.High, Is.False, "13:45:59.9");
        _host.Advance(TimeSpan.FromSeconds(0.2));
        Assert.That(Read(0x0C) & 0xA0, Is.EqualTo(0xA0), "IRQF | AF at 13:46:00");
    }

    [Test]
    public void RegisterD_ValidRam_AndIndexDropsTheNmiBit()
    {
        _cmos.WriteByte(0x70, 0x8D);
        Assert.That((_cmos.ReadByte(0x71), _cmos.Index), Is.EqualTo(((byte)0x80, (byte)0x0D)));
    }
}
