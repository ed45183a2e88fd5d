// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// The 8254 PIT at 0x40–0x43 on guest time (<see cref="VirtualClock"/>), as QEMU's hw/timer/i8254.c and
/// i8254_common.c model it: three channels counting at 1.193182 MHz in modes 0–5, the access modes LSB/MSB/word,
/// the counter-latch and read-back commands. Channel 0's OUT drives IRQ0 (mode 2 pulses once per period, mode 3 is a
/// square wave, mode 0 rises once at terminal count); channel 2's gate is port 0x61 bit 0 and its OUT reads back in
/// port 0x61 bit 5 (<see cref="SystemControlPortB"/>), which Linux uses to calibrate the TSC. At reset every channel is
/// in mode 3 with a count of 65536 and channel 2's gate is low, as in QEMU. Thread-safe.
/// </summary>
public sealed class Pit8254 : IIoPortHandler
{
    /// <summary>The PIT input clock in Hz (PIT_FREQ).</summary>
    public const long FrequencyHz = 1_193_182;

    private const long NanosecondsPerSecond = 1_000_000_000;
    private const int RwLsb = 1;
    private const int RwMsb = 2;
    private const int RwWord0 = 3;
    private const int RwWord1 = 4;

    private readonly object _lock = new();
    private readonly VirtualClock _clock;
    private readonly IInterruptLine? _irq0;
    private readonly Channel[] _channels = [new(), new(), new()];
    private readonly VirtualTimer _irqTimer;
    private long _nextTransition = -1;

    /// <summary>A PIT on <paramref name="clock"/>; channel 0's output drives <paramref name="irq0"/> when given.</summary>
    public Pit8254(VirtualClock clock, IInterruptLine? irq0 = null)
    {
        ArgumentNullException.ThrowIfNull(clock);
        _clock = clock;
        _irq0 = irq0;
        _irqTimer = clock.CreateTimer(OnIrqTimer);
        long now = clock.NowNanoseconds;
        lock (_lock)
        {
            for (int i = 0; i < _channels.Length; i++)
            {
                _channels[i].Gate = i != 2;
                _channels[i].LoadTime = now;
            }

            UpdateIrqLocked(now);
        }
    }

    private sealed class Channel
    {
        public int Count = 0x10000;
        public long LoadTime;
        public int Mode = 3;
        public bool Bcd;
        public bool Gate;
        public int RwMode = RwWord0;
        public int ReadState = RwWord0;
        public int WriteState = RwWord0;
        public byte WriteLatch;
        public ushort LatchedCount;
        public int CountLatched;
        public byte Status;
        public bool StatusLatched;
    }

    /// <summary>The OUT pin of a channel now.</summary>
    public bool Output(int channel)
    {
        lock (_lock)
        {
            return Out(_channels[channel], _clock.NowNanoseconds);
        }
    }

    /// <summary>The GATE input of a channel (channel 2: port 0x61 bit 0).</summary>
    public bool Gate(int channel)
    {
        lock (_lock)
        {
            return _channels[channel].Gate;
        }
    }

    /// <summary>The mode a channel is programmed to (0–5).</summary>
    public int Mode(int channel)
    {
        lock (_lock)
        {
            return _channels[channel].Mode;
        }
    }

    /// <summary>Drives a channel's GATE (pit_set_channel_gate): a rising edge restarts counting in modes 1, 2, 3 and 5.</summary>
    public void SetGate(int channel, bool high)
    {
        lock (_lock)
        {
            Channel c = _channels[channel];
            if (!c.Gate && high && c.Mode is 1 or 2 or 3 or 5)
            {
                c.LoadTime = _clock.NowNanoseconds;
                if (channel == 0)
                {
                    UpdateIrqLocked(c.LoadTime);
                }
            }

            c.Gate = high;
        }
    }

    /// <inheritdoc/>
    public byte ReadByte(ushort port)
    {
        int index = port - StandardPorts.PitChannel0;
        if (index is < 0 or > 2)
        {
            return 0; // the control word register is write-only; QEMU reads 0
        }

        lock (_lock)
        {
            Channel c = _channels[index];
            if (c.StatusLatched)
            {
                c.StatusLatched = false;
                return c.Status;
            }

            if (c.CountLatched != 0)
            {
                switch (c.CountLatched)
                {
                    case RwMsb:
                        c.CountLatched = 0;
                        return (byte)(c.LatchedCount >> 8);
                    case RwWord0:
                        c.CountLatched = RwMsb;
                        return (byte)c.LatchedCount;
                    default:
                        c.CountLatched = 0;
                        return (byte)c.LatchedCount;
                }
            }

            int count = GetCount(c, _clock.NowNanoseconds);
            switch (c.ReadState)
            {
                case RwMsb:
                    return (byte)(count >> 8);
                case RwWord0:
                    c.ReadState = RwWord1;
                    return (byte)count;
                case RwWord1:
                    c.ReadState = RwWord0;
                    return (byte)(count >> 8);
                default:
                    return (byte)count;
            }
        }
    }

    /// <inheritdoc/>
    public void WriteByte(ushort port, byte value)
    {
        lock (_lock)
        {
            long now = _clock.NowNanoseconds;
            if (port == StandardPorts.PitCommand)
            {
                Command(value, now);
                return;
            }

            int index = port - StandardPorts.PitChannel0;
            Channel c = _channels[index];
            switch (c.WriteState)
            {
                case RwMsb:
                    Load(index, value << 8, now);
                    break;
                case RwWord0:
                    c.WriteLatch = value;
                    c.WriteState = RwWord1;
                    break;
                case RwWord1:
                    Load(index, c.WriteLatch | (value << 8), now);
                    c.WriteState = RwWord0;
                    break;
                default:
                    Load(index, value, now);
                    break;
            }
        }
    }

    private void Command(byte value, long now)
    {
        int select = value >> 6;
        if (select == 3)
        {
            // Read-back: bit 5 clear latches counts, bit 4 clear latches status, bits 1–3 select channels.
            for (int i = 0; i < 3; i++)
            {
                if ((value & (2 << i)) == 0)
                {
                    continue;
                }

                Channel c = _channels[i];
                if ((value & 0x20) == 0)
                {
                    LatchCount(c, now);
                }

                if ((value & 0x10) == 0 && !c.StatusLatched)
                {
                    c.Status = (byte)((Out(c, now) ? 0x80 : 0) | (c.RwMode << 4) | (c.Mode << 1) | (c.Bcd ? 1 : 0));
                    c.StatusLatched = true;
                }
            }

            return;
        }

        Channel ch = _channels[select];
        int access = (value >> 4) & 3;
        if (access == 0)
        {
            LatchCount(ch, now);
            return;
        }

        ch.RwMode = access;
        ch.ReadState = access;
        ch.WriteState = access;
        ch.Mode = (value >> 1) & 7;
        if (ch.Mode > 5)
        {
            ch.Mode -= 4; // modes 6 and 7 are aliases of 2 and 3 (8254 datasheet)
        }

        ch.Bcd = (value & 1) != 0;
    }

    private static void LatchCount(Channel c, long now)
    {
        if (c.CountLatched == 0)
        {
            c.LatchedCount = (ushort)GetCount(c, now);
            c.CountLatched = c.RwMode;
        }
    }

    private void Load(int index, int value, long now)
    {
        Channel c = _channels[index];
        c.Count = value == 0 ? 0x10000 : value;
        c.LoadTime = now;
        if (index == 0)
        {
            UpdateIrqLocked(now);
        }
    }

    private static long Ticks(Channel c, long now) => (long)((Int128)(now - c.LoadTime) * FrequencyHz / NanosecondsPerSecond);

    /// <summary>pit_get_count.</summary>
    private static int GetCount(Channel c, long now)
    {
        long d = Ticks(c, now);
        return c.Mode switch
        {
            0 or 1 or 4 or 5 => (int)((c.Count - d) & 0xFFFF),
            3 => (int)(c.Count - ((2 * d) % c.Count)),
            _ => (int)(c.Count - (d % c.Count)),
        };
    }

    /// <summary>pit_get_out.</summary>
    private static bool Out(Channel c, long now)
    {
        long d = Ticks(c, now);
        return c.Mode switch
        {
            1 => d < c.Count,
            2 => d % c.Count == 0 && d != 0,
            3 => d % c.Count < ((c.Count + 1) >> 1),
            4 or 5 => d == c.Count,
            _ => d >= c.Count,
        };
    }

    /// <summary>pit_get_next_transition_time: the guest time of OUT's next change, or -1.</summary>
    private static long NextTransition(Channel c, long now)
    {
        long d = Ticks(c, now);
        long next;
        switch (c.Mode)
        {
            case 2:
                // OUT pulses for the one tick at each multiple of the count: rise there, fall a tick later. (QEMU's
                // formula targets tick count + 1 and relies on truncating the conversion to land inside the pulse;
                // this converts exactly, so it names the ticks themselves.)
                next = d % c.Count == 0 && d != 0 ? d + 1 : ((d / c.Count) + 1) * c.Count;
                break;

            case 3:
                {
                    long b = d / c.Count * c.Count;
                    long half = (c.Count + 1) >> 1;
                    next = d - b < half ? b + half : b + c.Count;
                    break;
                }

            case 4 or 5:
                if (d < c.Count)
                {
                    next = c.Count;
                }
                else if (d == c.Count)
                {
                    next = c.Count + 1;
                }
                else
                {
                    return -1;
                }

                break;
            default:
                if (d >= c.Count)
                {
                    return -1;
                }

                next = c.Count;
                break;
        }

        // The first nanosecond at which the tick count reaches 'next' (QEMU truncates here and fires a hair early).
        long time = c.LoadTime + (long)(((Int128)next * NanosecondsPerSecond + FrequencyHz - 1) / FrequencyHz);
        return time <= now ? now + 1 : time;
    }

    /// <summary>pit_irq_timer_update: drives IRQ0 with channel 0's OUT at <paramref name="now"/> and arms the next change.</summary>
    private void UpdateIrqLocked(long now)
    {
        if (_irq0 is null)
        {
            return;
        }

        Channel c = _channels[0];
        _nextTransition = NextTransition(c, now);
        _irq0.SetLevel(Out(c, now));
        if (_nextTransition < 0)
        {
            _irqTimer.Cancel();
        }
        else
        {
            _irqTimer.ArmAt(_nextTransition);
        }
    }

    private void OnIrqTimer()
    {
        lock (_lock)
        {
            // As QEMU, evaluate at the transition the timer was armed for, so each edge happens; but when the host fell
            // more than a period behind a periodic mode (2, 3), continue from now: missed periods coalesce instead of
            // arriving as a burst. A one-shot mode (Linux's oneshot clockevent programs mode 4: OUT pulses for one tick
            // at terminal count) has no later period to coalesce into: evaluated from now, a late timer would skip
            // the pulse and the interrupt with it, and a kernel waiting in HLT for that event would wait for ever.
            long now = _clock.NowNanoseconds;
            long at = _nextTransition;
            long period = (long)((Int128)_channels[0].Count * NanosecondsPerSecond / FrequencyHz);
            if (at < 0 || (_channels[0].Mode is 2 or 3 && now - at > period))
            {
                at = now;
            }

            UpdateIrqLocked(at);
        }
    }
}
