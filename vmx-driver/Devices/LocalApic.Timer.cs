// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <content>
/// The APIC timer (SDM Vol. 3A 11.5.4): a 32-bit counter loaded from the initial-count register and counting down at
/// the bus clock divided by the divide-configuration register (1, 2, 4 ... 128), one-shot or periodic by LVT timer bits
/// 18:17; reaching 0 requests the LVT timer's vector unless it is masked. The bus clock is 1 GHz of
/// <see cref="VirtualClock"/> guest time, as QEMU's (one tick a nanosecond), so the count stands still while the VM is
/// halted. Periods that passed while the host was slow coalesce into one interrupt (<see cref="VirtualTimer"/>); the
/// count keeps its phase. TSC-deadline mode is not offered (CPUID does not report it): mode 2 counts as one-shot.
/// </content>
public sealed partial class LocalApic
{
    private const uint TimerPeriodic = 1u << 17;

    private readonly VirtualClock _clock;
    private readonly VirtualTimer _timer;
    private uint _initialCount;
    private uint _divide;
    private int _countShift = 1;
    private long _timerStart;

    /// <summary>The timer's counting period in guest nanoseconds (divide × 1 ns a tick) for its divide configuration.</summary>
    public long TimerTickNanoseconds
    {
        get
        {
            lock (_lock)
            {
                return 1L << _countShift;
            }
        }
    }

    private void StartTimerLocked(uint initialCount)
    {
        _initialCount = initialCount;
        _timerStart = _clock.NowNanoseconds;
        ArmTimerLocked();
    }

    private void SetDivideLocked(uint value)
    {
        // Bits 0, 1 and 3: 0b000 divides by 2 ... 0b110 by 128, 0b111 by 1.
        uint current = CurrentCountLocked();
        _divide = value & 0xB;
        uint v = (_divide & 3) | ((_divide >> 1) & 4);
        _countShift = (int)((v + 1) & 7);
        if (_initialCount != 0 && current != 0)
        {
            // Keep the current count: the counter goes on from it at the new rate.
            long period = (long)_initialCount << _countShift;
            _timerStart = _clock.NowNanoseconds - (period - ((long)current << _countShift));
        }

        ArmTimerLocked();
    }

    /// <summary>The current count: 0 once a one-shot count ran out; periodic counts reload. Under the lock.</summary>
    private uint CurrentCountLocked()
    {
        if (_initialCount == 0)
        {
            return 0;
        }

        long ticks = (_clock.NowNanoseconds - _timerStart) >> _countShift;
        if ((_lvt[LvtTimerIndex] & TimerPeriodic) != 0)
        {
            return (uint)(_initialCount - (ticks % _initialCount));
        }

        return ticks >= _initialCount ? 0 : (uint)(_initialCount - ticks);
    }

    /// <summary>Arms the guest-time timer for the next time the count reaches 0, or cancels it. Under the lock.</summary>
    private void ArmTimerLocked()
    {
        if (_initialCount == 0)
        {
            _timer.Cancel();
            return;
        }

        long period = (long)_initialCount << _countShift;
        long deadline = _timerStart + period;
        if ((_lvt[LvtTimerIndex] & TimerPeriodic) != 0)
        {
            long now = _clock.NowNanoseconds;
            if (deadline <= now)
            {
                long periods = (now - _timerStart) / period;
                _timerStart += periods * period;
                deadline = _timerStart + period;
            }
        }
        else if (deadline <= _clock.NowNanoseconds && _timerFired)
        {
            _timer.Cancel();
            return;
        }

        _timerFired = false;
        _timer.ArmAt(deadline);
    }

    private bool _timerFired;

    /// <summary>The count reached 0: requests the LVT timer's vector and re-arms a periodic timer.</summary>
    private void OnTimer()
    {
        bool rising = false;
        lock (_lock)
        {
            if (_initialCount == 0)
            {
                return;
            }

            uint lvt = _lvt[LvtTimerIndex];
            if ((lvt & LvtMasked) == 0)
            {
                AcceptFixedLocked((byte)lvt, level: false);
                rising = UpdateLocked();
            }

            if ((lvt & TimerPeriodic) != 0)
            {
                long period = (long)_initialCount << _countShift;
                _timerStart += Math.Max(1, (_clock.NowNanoseconds - _timerStart) / period) * period;
                _timer.ArmAt(_timerStart + period);
            }
            else
            {
                _timerFired = true;
            }
        }

        Notify(rising);
    }
}
