// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// The MC146818 CMOS/RTC at 0x70 (index; bit 7 disables NMI) and 0x71 (data), as QEMU's hw/rtc/mc146818rtc.c
/// presents it: the clock (seconds to century, BCD or binary, 24- or 12-hour per register B) on guest time from the
/// host's UTC time at power-on (QEMU's default <c>-rtc base=utc</c>), register A (update-in-progress in the 244 µs
/// before each update, divider, periodic rate), B (SET, PIE, AIE, UIE, data mode, 24/12), C (IRQF, PF, AF, UF; read to
/// clear) and D (valid RAM), the alarm with don't-care values, IRQ 8 for periodic, alarm and update-ended interrupts,
/// and the memory-size bytes firmware reads (0x15/0x16 base, 0x17/0x18 and 0x30/0x31 extended, 0x34/0x35 above
/// 16 MiB in 64 KiB units, 0x5F cores − 1). Other bytes are battery-backed storage. Thread-safe.
/// </summary>
public sealed partial class Cmos : IIoPortHandler
{
    private const int Size = 128;
    private const byte IndexMask = 0x7F;
    private const byte RegSeconds = 0x00;
    private const byte RegSecondsAlarm = 0x01;
    private const byte RegMinutes = 0x02;
    private const byte RegMinutesAlarm = 0x03;
    private const byte RegHours = 0x04;
    private const byte RegHoursAlarm = 0x05;
    private const byte RegWeekday = 0x06;
    private const byte RegDay = 0x07;
    private const byte RegMonth = 0x08;
    private const byte RegYear = 0x09;
    private const byte RegA = 0x0A;
    private const byte RegB = 0x0B;
    private const byte RegC = 0x0C;
    private const byte RegD = 0x0D;
    private const byte RegCentury = 0x32;
    private const byte AUpdateInProgress = 0x80;
    private const byte ADividerMask = 0x70;
    private const byte ARateMask = 0x0F;
    private const byte BSet = 0x80;
    private const byte BPeriodic = 0x40;
    private const byte BAlarm = 0x20;
    private const byte BUpdateEnded = 0x10;
    private const byte BBinary = 0x04;
    private const byte B24Hour = 0x02;
    private const byte CIrq = 0x80;
    private const byte CPeriodic = 0x40;
    private const byte CAlarm = 0x20;
    private const byte CUpdateEnded = 0x10;
    private const byte DValidRam = 0x80;
    private const ulong KiB = 1024;
    private const ulong MiB = 1024 * 1024;

    private readonly object _lock = new();
    private readonly byte[] _ram = new byte[Size];
    private readonly VirtualClock _clock;
    private readonly IInterruptLine? _irq;
    private byte _index;

    /// <summary>The CMOS of a machine with <paramref name="ramBytes"/> of RAM and <paramref name="cores"/> cores;
    /// the clock runs on <paramref name="clock"/> and interrupts go to <paramref name="irq"/> (IRQ 8) when given.</summary>
    public Cmos(ulong ramBytes, int cores, VirtualClock clock, IInterruptLine? irq = null)
    {
        ArgumentNullException.ThrowIfNull(clock);
        _clock = clock;
        _irq = irq;
        _ram[RegA] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
        _ram[RegB] = B24Hour;
        _ram[RegD] = DValidRam;
        _ram[0x15] = 0x80;
        _ram[0x16] = 0x02; // 640 KiB base memory
        ulong extendedKiB = Math.Min(ramBytes > MiB ? (ramBytes - MiB) / KiB : 0, 0xFFFF);
        _ram[0x17] = _ram[0x30] = (byte)extendedKiB;
        _ram[0x18] = _ram[0x31] = (byte)(extendedKiB >> 8);
        ulong above16 = ramBytes > 16 * MiB ? Math.Min((ramBytes - (16 * MiB)) / (64 * KiB), 0xFFFF) : 0;
        _ram[0x34] = (byte)above16;
        _ram[0x35] = (byte)(above16 >> 8);
        _ram[0x5F] = (byte)(cores - 1);
        _baseTime = clock.PowerOnUtcTime.UtcDateTime;
        _baseNs = 0;
        _lastFlagsNs = 0;
        _periodicTimer = clock.CreateTimer(OnPeriodicTimer);
        _secondTimer = clock.CreateTimer(OnSecondTimer);
    }

    /// <summary>The last index written (without the NMI bit).</summary>
    public byte Index
    {
        get
        {
            lock (_lock)
            {
                return _index;
            }
        }
    }

    /// <inheritdoc/>
    public byte ReadByte(ushort port)
    {
        if (port == StandardPorts.CmosIndex)
        {
            return 0xFF; // the index register is write-only
        }

        lock (_lock)
        {
            long now = _clock.NowNanoseconds;
            switch (_index)
            {
                case RegSeconds or RegMinutes or RegHours or RegWeekday or RegDay or RegMonth or RegYear or RegCentury:
                    return ReadClockField(_index, now);
                case RegA:
                    return (byte)((_ram[RegA] & ~AUpdateInProgress) | (UpdateInProgress(now) ? AUpdateInProgress : 0));
                case RegC:
                    {
                        CollectFlagsLocked(now);
                        byte c = _ram[RegC];
                        _ram[RegC] = 0;
                        _irq?.Lower();
                        return c;
                    }

                default:
                    return _ram[_index];
            }
        }
    }

    /// <inheritdoc/>
    public void WriteByte(ushort port, byte value)
    {
        lock (_lock)
        {
            if (port == StandardPorts.CmosIndex)
            {
                _index = (byte)(value & IndexMask);
                return;
            }

            long now = _clock.NowNanoseconds;
            switch (_index)
            {
                case RegSeconds or RegMinutes or RegHours or RegDay or RegMonth or RegYear or RegCentury:
                    WriteClockField(_index, value, now);
                    break;
                case RegWeekday:
                    break; // the day of the week follows the date
                case RegA:
                    WriteRegisterALocked(value, now);
                    break;
                case RegB:
                    WriteRegisterBLocked(value, now);
                    break;
                case RegC or RegD:
                    break; // read-only
                default:
                    _ram[_index] = value;
                    break;
            }
        }
    }
}
