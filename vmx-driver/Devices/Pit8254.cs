// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// The 8254 PIT at 0x40–0x43: three channels counting down at 1.193182 MHz from host time (an injected
/// <see cref="TimeProvider"/>), with the access modes lobyte/hibyte/both, the counter-latch command and the read-back
/// command (counts and status). Port 0x61 bit 5 (channel 2 output) is not modelled. No interrupts are raised.
/// </summary>
public sealed class Pit8254 : IIoPortHandler
{
    /// <summary>The PIT input clock in Hz.</summary>
    public const long FrequencyHz = 1_193_182;

    private readonly TimeProvider _time;
    private readonly Channel[] _channels = [new(), new(), new()];

    public Pit8254(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        long now = _time.GetTimestamp();
        foreach (Channel c in _channels)
        {
            c.Start = now;
        }
    }

    private sealed class Channel
    {
        public ushort Reload;
        public long Start;
        public int Access = 3;
        public int Mode;
        public bool WriteHigh;
        public bool ReadHigh;
        public int? Latched;
        public byte? Status;
    }

    /// <inheritdoc/>
    public byte ReadByte(ushort port)
    {
        int index = port - StandardPorts.PitChannel0;
        if (index is < 0 or > 2)
        {
            return 0xFF;
        }

        Channel c = _channels[index];
        if (c.Status is byte status)
        {
            c.Status = null;
            return status;
        }

        int value = c.Latched ?? Count(c);
        byte result;
        switch (c.Access)
        {
            case 1:
                result = (byte)value;
                c.Latched = null;
                break;
            case 2:
                result = (byte)(value >> 8);
                c.Latched = null;
                break;
            default:
                result = c.ReadHigh ? (byte)(value >> 8) : (byte)value;
                if (c.ReadHigh)
                {
                    c.Latched = null;
                }
                else
                {
                    c.Latched ??= value;
                }

                c.ReadHigh = !c.ReadHigh;
                break;
        }

        return result;
    }

    /// <inheritdoc/>
    public void WriteByte(ushort port, byte value)
    {
        if (port == StandardPorts.PitCommand)
        {
            Command(value);
            return;
        }

        Channel c = _channels[port - StandardPorts.PitChannel0];
        switch (c.Access)
        {
            case 1:
                Load(c, (ushort)((c.Reload & 0xFF00) | value));
                break;
            case 2:
                Load(c, (ushort)((c.Reload & 0x00FF) | (value << 8)));
                break;
            default:
                if (!c.WriteHigh)
                {
                    c.Reload = (ushort)((c.Reload & 0xFF00) | value);
                }
                else
                {
                    Load(c, (ushort)((c.Reload & 0x00FF) | (value << 8)));
                }

                c.WriteHigh = !c.WriteHigh;
                break;
        }
    }

    private void Command(byte value)
    {
        int select = value >> 6;
        if (select == 3)
        {
            // Read-back: bit 5 clear = latch counts, bit 4 clear = latch status; bits 1-3 select channels.
            for (int i = 0; i < 3; i++)
            {
                if ((value & (2 << i)) == 0)
                {
                    continue;
                }

                Channel c = _channels[i];
                if ((value & 0x20) == 0)
                {
                    c.Latched ??= Count(c);
                }

                if ((value & 0x10) == 0)
                {
                    c.Status = (byte)((c.Access << 4) | (c.Mode << 1));
                }
            }

            return;
        }

        Channel ch = _channels[select];
        int access = (value >> 4) & 3;
        if (access == 0)
        {
            ch.Latched ??= Count(ch);
            return;
        }

        ch.Access = access;
        ch.Mode = (value >> 1) & 7;
        ch.WriteHigh = false;
        ch.ReadHigh = false;
        ch.Latched = null;
    }

    private void Load(Channel c, ushort reload)
    {
        c.Reload = reload;
        c.Start = _time.GetTimestamp();
    }

    private int Count(Channel c)
    {
        long period = c.Reload == 0 ? 0x10000 : c.Reload;
        TimeSpan elapsed = _time.GetElapsedTime(c.Start);
        long ticks = (long)(elapsed.TotalSeconds * FrequencyHz);
        return (int)(period - 1 - (ticks % period)) & 0xFFFF;
    }
}
