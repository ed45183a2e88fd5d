// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <content>
/// The clock and its interrupts. The time is <c>_baseTime</c> plus the guest time since <c>_baseNs</c> while the
/// clock runs (register B's SET clear and the divider in its normal 0b010 setting); otherwise it stands at
/// <c>_baseTime</c>. The flags of register C are brought up to date when it is read; IRQ 8 is raised by two guest-time
/// timers, one for the periodic rate (while PIE is set) and one at each second boundary (while AIE or UIE is set).
/// Periods missed while the host was slow coalesce into one interrupt. Without AIE and UIE, AF is only checked
/// against the time at which register C is read.
/// </content>
public sealed partial class Cmos
{
    /// <summary>How long before an update register A's UIP bit is set (QEMU's UIP_HOLD_LENGTH: 8 cycles of 32.768 kHz).</summary>
    public const long UpdateInProgressNanoseconds = 8 * NanosecondsPerSecond / 32768;

    private const long NanosecondsPerSecond = 1_000_000_000;
    private const byte AlarmDontCare = 0xC0;
    private readonly VirtualTimer _periodicTimer;
    private readonly VirtualTimer _secondTimer;
    private DateTime _baseTime;
    private long _baseNs;
    private long _lastFlagsNs;
    private long _periodicStartNs;

    private bool Running => (_ram[RegB] & BSet) == 0 && (_ram[RegA] & ADividerMask) <= 0x20;

    /// <summary>The RTC's current time (as the guest would read it).</summary>
    public DateTime Time
    {
        get
        {
            lock (_lock)
            {
                return TimeAt(_clock.NowNanoseconds);
            }
        }
    }

    private DateTime TimeAt(long now) => Running ? _baseTime.AddTicks((now - _baseNs) / 100) : _baseTime;

    private bool UpdateInProgress(long now)
    {
        if (!Running)
        {
            return false;
        }

        return NanosecondsIntoSecond(now) >= NanosecondsPerSecond - UpdateInProgressNanoseconds;
    }

    private byte ReadClockField(byte register, long now)
    {
        DateTime t = TimeAt(now);
        return register switch
        {
            RegSeconds => Encode(t.Second),
            RegMinutes => Encode(t.Minute),
            RegHours => EncodeHour(t.Hour),
            RegWeekday => Encode((int)t.DayOfWeek + 1),
            RegDay => Encode(t.Day),
            RegMonth => Encode(t.Month),
            RegYear => Encode(t.Year % 100),
            _ => Encode(t.Year / 100),
        };
    }

    private void WriteClockField(byte register, byte value, long now)
    {
        DateTime t = TimeAt(now);
        int year = t.Year;
        int month = t.Month;
        int day = t.Day;
        int hour = t.Hour;
        int minute = t.Minute;
        int second = t.Second;
        switch (register)
        {
            case RegSeconds:
                second = Math.Clamp(Decode(value), 0, 59);
                break;
            case RegMinutes:
                minute = Math.Clamp(Decode(value), 0, 59);
                break;
            case RegHours:
                hour = DecodeHour(value);
                break;
            case RegDay:
                day = Decode(value);
                break;
            case RegMonth:
                month = Math.Clamp(Decode(value), 1, 12);
                break;
            case RegYear:
                year = (year / 100 * 100) + Math.Clamp(Decode(value), 0, 99);
                break;
            default:
                year = (Math.Clamp(Decode(value), 1, 99) * 100) + (year % 100);
                break;
        }

        // An impossible date (the 31st of a 30-day month) is clamped; a real chip would carry the value as written.
        day = Math.Clamp(day, 1, DateTime.DaysInMonth(year, month));
        var time = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc);
        Rebase(time.AddTicks(t.Ticks % TimeSpan.TicksPerSecond), now);
    }

    private void Rebase(DateTime time, long now)
    {
        _baseTime = time;
        _baseNs = now;
        ArmSecondTimerLocked(now);
    }

    private void WriteRegisterALocked(byte value, long now)
    {
        DateTime t = TimeAt(now);
        _ram[RegA] = (byte)(value & ~AUpdateInProgress);
        Rebase(t, now); // a stopped divider freezes the time, a restarted one continues from it
        _periodicStartNs = now;
        ArmPeriodicTimerLocked(now);
    }

    private void WriteRegisterBLocked(byte value, long now)
    {
        DateTime t = TimeAt(now);
        CollectFlagsLocked(now);
        if ((value & BSet) != 0)
        {
            value &= unchecked((byte)~BUpdateEnded); // setting SET clears UIE (datasheet)
        }

        byte old = _ram[RegB];
        _ram[RegB] = value;
        Rebase(t, now);
        if (((old ^ value) & BPeriodic) != 0)
        {
            _periodicStartNs = now;
            ArmPeriodicTimerLocked(now);
        }

        UpdateIrqLocked();
    }

    /// <summary>The periodic interrupt's period (register A's rate select), or 0 when off.</summary>
    private long PeriodNanoseconds()
    {
        int code = _ram[RegA] & ARateMask;
        if (code == 0)
        {
            return 0;
        }

        if (code <= 2)
        {
            code += 7; // rates 1 and 2 are aliases of 8 and 9 with a 32.768 kHz time base (QEMU)
        }

        return (1L << (code - 1)) * NanosecondsPerSecond / 32768;
    }

    /// <summary>Sets PF and UF for periods and updates that passed since the flags were last collected.</summary>
    private void CollectFlagsLocked(long now)
    {
        long period = PeriodNanoseconds();
        if (period > 0 && (_ram[RegA] & ADividerMask) <= 0x20
            && (now - _periodicStartNs) / period != (_lastFlagsNs - _periodicStartNs) / period)
        {
            _ram[RegC] |= CPeriodic;
        }

        if (Running && SecondsSinceBase(now) != SecondsSinceBase(Math.Max(_lastFlagsNs, _baseNs)))
        {
            _ram[RegC] |= CUpdateEnded;
            if (AlarmMatches(TimeAt(now)))
            {
                _ram[RegC] |= CAlarm;
            }
        }

        _lastFlagsNs = now;
    }

    private long SecondsSinceBase(long now) =>
        ((_baseTime.Ticks % TimeSpan.TicksPerSecond * 100) + (now - _baseNs)) / NanosecondsPerSecond;

    /// <summary>How far the running clock is into its current second (the base's fraction plus the time since).</summary>
    private long NanosecondsIntoSecond(long now) =>
        ((_baseTime.Ticks % TimeSpan.TicksPerSecond * 100) + (now - _baseNs)) % NanosecondsPerSecond;

    private bool AlarmMatches(DateTime t) =>
        FieldMatches(_ram[RegSecondsAlarm], t.Second) && FieldMatches(_ram[RegMinutesAlarm], t.Minute)
        && ((_ram[RegHoursAlarm] & AlarmDontCare) == AlarmDontCare || _ram[RegHoursAlarm] == EncodeHour(t.Hour));

    private bool FieldMatches(byte alarm, int value) => (alarm & AlarmDontCare) == AlarmDontCare || alarm == Encode(value);

    /// <summary>IRQF and the IRQ 8 line from the flags and their enables.</summary>
    private void UpdateIrqLocked()
    {
        byte enabled = (byte)(_ram[RegB] & (BPeriodic | BAlarm | BUpdateEnded));
        bool irq = (_ram[RegC] & enabled & (CPeriodic | CAlarm | CUpdateEnded)) != 0;
        if (irq && (_ram[RegC] & CIrq) == 0)
        {
            _ram[RegC] |= CIrq;
            _irq?.Raise();
        }
    }

    private void ArmPeriodicTimerLocked(long now)
    {
        long period = PeriodNanoseconds();
        if (period == 0 || (_ram[RegB] & BPeriodic) == 0 || (_ram[RegA] & ADividerMask) > 0x20)
        {
            _periodicTimer.Cancel();
            return;
        }

        _periodicTimer.ArmAt(_periodicStartNs + (((now - _periodicStartNs) / period) + 1) * period);
    }

    private void ArmSecondTimerLocked(long now)
    {
        if (!Running || (_ram[RegB] & (BAlarm | BUpdateEnded)) == 0)
        {
            _secondTimer.Cancel();
            return;
        }

        _secondTimer.ArmAt(now + NanosecondsPerSecond - NanosecondsIntoSecond(now));
    }

    private void OnPeriodicTimer()
    {
        lock (_lock)
        {
            long now = _clock.NowNanoseconds;
            CollectFlagsLocked(now);
            UpdateIrqLocked();
            ArmPeriodicTimerLocked(now);
        }
    }

    private void OnSecondTimer()
    {
        lock (_lock)
        {
            long now = _clock.NowNanoseconds;
            CollectFlagsLocked(now);
            UpdateIrqLocked();
            ArmSecondTimerLocked(now);
        }
    }

    private bool Binary => (_ram[RegB] & BBinary) != 0;

    private byte Encode(int value) => Binary ? (byte)value : (byte)(((value / 10) << 4) | (value % 10));

    private int Decode(byte value) => Binary ? value : ((value >> 4) * 10) + (value & 0x0F);

    private byte EncodeHour(int hour)
    {
        if ((_ram[RegB] & B24Hour) != 0)
        {
            return Encode(hour);
        }

        int h12 = hour % 12 == 0 ? 12 : hour % 12;
        return (byte)(Encode(h12) | (hour >= 12 ? 0x80 : 0));
    }

    private int DecodeHour(byte value)
    {
        if ((_ram[RegB] & B24Hour) != 0)
        {
            return Math.Clamp(Decode(value), 0, 23);
        }

        int h12 = Math.Clamp(Decode((byte)(value & 0x7F)), 1, 12);
        return (h12 % 12) + ((value & 0x80) != 0 ? 12 : 0);
    }
}
