// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// The MC146818 CMOS/RTC at 0x70 (index, bit 7 = NMI disable) and 0x71 (data): the clock from host time in BCD, status
/// registers A–D, and the memory-size bytes firmware reads (0x15/0x16 base, 0x17/0x18 and 0x30/0x31 extended, 0x34/0x35
/// above 16 MiB in 64 KiB units, 0x5B–0x5D above 4 GiB), as QEMU fills them. Other bytes are plain storage.
/// </summary>
public sealed class Cmos : IIoPortHandler
{
    private const int Size = 128;
    private const byte IndexMask = 0x7F;
    private const byte RegSeconds = 0x00;
    private const byte RegMinutes = 0x02;
    private const byte RegHours = 0x04;
    private const byte RegWeekday = 0x06;
    private const byte RegDay = 0x07;
    private const byte RegMonth = 0x08;
    private const byte RegYear = 0x09;
    private const byte RegStatusA = 0x0A;
    private const byte RegStatusB = 0x0B;
    private const byte RegStatusC = 0x0C;
    private const byte RegStatusD = 0x0D;
    private const byte RegCentury = 0x32;
    private const ulong KiB = 1024;
    private const ulong MiB = 1024 * 1024;

    private readonly byte[] _ram = new byte[Size];
    private readonly TimeProvider _time;
    private byte _index;

    public Cmos(ulong ramBytes, int cores, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _ram[RegStatusA] = 0x26;
        _ram[RegStatusB] = 0x02;
        _ram[RegStatusD] = 0x80;
        _ram[0x15] = 0x80;
        _ram[0x16] = 0x02; // 640 KiB base memory
        ulong extendedKiB = Math.Min(ramBytes > MiB ? (ramBytes - MiB) / KiB : 0, 0xFFFF);
        _ram[0x17] = _ram[0x30] = (byte)extendedKiB;
        _ram[0x18] = _ram[0x31] = (byte)(extendedKiB >> 8);
        ulong above16 = ramBytes > 16 * MiB ? Math.Min((ramBytes - (16 * MiB)) / (64 * KiB), 0xFFFF) : 0;
        _ram[0x34] = (byte)above16;
        _ram[0x35] = (byte)(above16 >> 8);
        _ram[0x5F] = (byte)(cores - 1);
    }

    /// <summary>The last index written (without the NMI bit).</summary>
    public byte Index => _index;

    /// <inheritdoc/>
    public byte ReadByte(ushort port)
    {
        if (port == StandardPorts.CmosIndex)
        {
            return 0xFF;
        }

        DateTimeOffset now = _time.GetLocalNow();
        return _index switch
        {
            RegSeconds => Bcd(now.Second),
            RegMinutes => Bcd(now.Minute),
            RegHours => Bcd(now.Hour),
            RegWeekday => Bcd((int)now.DayOfWeek + 1),
            RegDay => Bcd(now.Day),
            RegMonth => Bcd(now.Month),
            RegYear => Bcd(now.Year % 100),
            RegCentury => Bcd(now.Year / 100),
            RegStatusC => 0,
            _ => _ram[_index],
        };
    }

    /// <inheritdoc/>
    public void WriteByte(ushort port, byte value)
    {
        if (port == StandardPorts.CmosIndex)
        {
            _index = (byte)(value & IndexMask);
            return;
        }

        if (_index is not (RegStatusC or RegStatusD))
        {
            _ram[_index] = value;
        }
    }

    private static byte Bcd(int value) => (byte)(((value / 10) << 4) | (value % 10));
}
