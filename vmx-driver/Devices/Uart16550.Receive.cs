// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <content>
/// The receive side: bytes from the host wait in a bounded input queue (what QEMU's character device buffers) and
/// enter the receive FIFO as fast as serial_can_receive allows — up to the trigger level, so the guest sees the
/// received-data interrupt at its threshold, and the character-timeout interrupt 4 character times after the last
/// byte when fewer are waiting. Without the FIFO, RBR holds one byte.
/// </content>
public sealed partial class Uart16550
{
    /// <summary>Bytes from the host the UART holds before <see cref="Receive"/> accepts no more.</summary>
    public const int InputCapacity = 64 * 1024;

    private const int FifoSize = 16;
    private readonly Queue<byte> _input = new();
    private readonly Queue<byte> _receiveFifo = new();
    private byte _rbr;
    private int _triggerLevel = 1;
    private bool _timeoutPending;
    private long _overruns;

    /// <summary>Bytes the guest lost because its receive buffer was full (LSR.OE), as on real hardware.</summary>
    public long Overruns => Interlocked.Read(ref _overruns);

    /// <summary>Queues bytes from the host for the guest; returns how many were taken (fewer when the input queue is
    /// full: wait with <see cref="WaitForInputSpace"/> and offer the rest).</summary>
    public int Receive(ReadOnlySpan<byte> bytes)
    {
        lock (_lock)
        {
            int n = Math.Min(bytes.Length, InputCapacity - _input.Count);
            foreach (byte b in bytes[..n])
            {
                _input.Enqueue(b);
            }

            PumpInputLocked();
            return n;
        }
    }

    /// <summary>Blocks until the input queue has room (true) or <paramref name="timeout"/> passes (false).</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public bool WaitForInputSpace(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        using CancellationTokenRegistration wake = cancellationToken.Register(PulseWaiters);
        lock (_lock)
        {
            while (_input.Count >= InputCapacity)
            {
                cancellationToken.ThrowIfCancellationRequested();
                long left = deadline - Environment.TickCount64;
                if (left <= 0)
                {
                    return false;
                }

                Monitor.Wait(_lock, TimeSpan.FromMilliseconds(left));
            }

            return true;
        }
    }

    private void PulseWaiters()
    {
        lock (_lock)
        {
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>Bytes from the host not yet in the guest's receive buffer.</summary>
    public int PendingInput
    {
        get
        {
            lock (_lock)
            {
                return _input.Count;
            }
        }
    }

    private byte ReadReceiveBufferLocked()
    {
        byte value;
        if ((_fcr & FcrEnable) != 0)
        {
            value = _receiveFifo.Count > 0 ? _receiveFifo.Dequeue() : (byte)0;
            if (_receiveFifo.Count == 0)
            {
                _lsr &= unchecked((byte)~(LsrDataReady | LsrBreak));
            }
            else
            {
                ArmCharacterTimeoutLocked();
            }

            _timeoutPending = false;
        }
        else
        {
            value = _rbr;
            _lsr &= unchecked((byte)~(LsrDataReady | LsrBreak));
        }

        UpdateInterruptLocked();
        if ((_mcr & McrLoopback) == 0)
        {
            PumpInputLocked();
        }

        return value;
    }

    /// <summary>serial_can_receive: how many bytes the receive buffer takes now.</summary>
    private int CanReceiveLocked()
    {
        if ((_fcr & FcrEnable) == 0)
        {
            return (_lsr & LsrDataReady) == 0 ? 1 : 0;
        }

        if (_receiveFifo.Count >= FifoSize)
        {
            return 0;
        }

        return _receiveFifo.Count <= _triggerLevel ? _triggerLevel - _receiveFifo.Count : 1;
    }

    /// <summary>Moves host input into the receive buffer while it takes bytes (not in loopback mode).</summary>
    private void PumpInputLocked()
    {
        if ((_mcr & McrLoopback) != 0)
        {
            return;
        }

        int room = CanReceiveLocked();
        bool moved = false;
        while (room-- > 0 && _input.Count > 0)
        {
            ReceiveByteLocked(_input.Dequeue());
            moved = true;
        }

        if (moved)
        {
            Monitor.PulseAll(_lock); // writers waiting in WaitForInputSpace
        }
    }

    /// <summary>serial_receive1: one byte arrives on the line (from the host, or from the transmitter in loopback).</summary>
    private void ReceiveByteLocked(byte value)
    {
        if ((_fcr & FcrEnable) != 0)
        {
            if (_receiveFifo.Count < FifoSize)
            {
                _receiveFifo.Enqueue(value);
            }
            else
            {
                _lsr |= LsrOverrun;
                Interlocked.Increment(ref _overruns);
            }

            _lsr |= LsrDataReady;
            ArmCharacterTimeoutLocked();
        }
        else
        {
            if ((_lsr & LsrDataReady) != 0)
            {
                _lsr |= LsrOverrun;
                Interlocked.Increment(ref _overruns);
            }

            _rbr = value;
            _lsr |= LsrDataReady;
        }

        UpdateInterruptLocked();
    }

    private void ArmCharacterTimeoutLocked()
    {
        if (_timeoutTimer is not null && _clock is not null)
        {
            _timeoutTimer.ArmAt(_clock.NowNanoseconds + (4 * _charTimeNs));
        }
    }

    private void OnCharacterTimeout()
    {
        lock (_lock)
        {
            if (_receiveFifo.Count > 0)
            {
                _timeoutPending = true;
                UpdateInterruptLocked();
            }
        }
    }
}
