// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <content>
/// The transmit side (serial_xmit): THR (or the 16-byte transmit FIFO) feeds the shift register, which sends at once
/// to the attached sink; in loopback mode it is received instead. While the sink is full the shift register holds its
/// byte, LSR.TEMT stays clear and nothing more is sent until <see cref="SinkReady"/>.
/// </content>
public sealed partial class Uart16550
{
    private readonly Queue<byte> _transmitFifo = new();
    private ISerialSink? _sink;
    private byte _thr;
    private byte _tsr;
    private bool _tsrPending;

    /// <summary>Sends transmitted bytes to <paramref name="sink"/> from now on (null: captured only).</summary>
    public void AttachSink(ISerialSink? sink)
    {
        lock (_lock)
        {
            _sink = sink;
            TransmitLocked();
        }
    }

    /// <summary>The sink has room again: the UART sends what it holds.</summary>
    public void SinkReady()
    {
        lock (_lock)
        {
            TransmitLocked();
        }
    }

    private void WriteTransmitHoldingLocked(byte value)
    {
        _thr = value;
        if ((_fcr & FcrEnable) != 0)
        {
            // Transmit overruns overwrite: drop the oldest byte to make room, as QEMU does.
            if (_transmitFifo.Count == FifoSize)
            {
                _transmitFifo.Dequeue();
            }

            _transmitFifo.Enqueue(value);
            _lsr &= unchecked((byte)~LsrTransmitterEmpty);
        }

        _thrInterruptPending = false;
        _lsr &= unchecked((byte)~LsrThrEmpty);
        UpdateInterruptLocked();
        TransmitLocked();
    }

    private void TransmitLocked()
    {
        bool sent = false;
        while (true)
        {
            if (!_tsrPending)
            {
                if ((_fcr & FcrEnable) != 0)
                {
                    if (_transmitFifo.Count == 0)
                    {
                        if (!sent)
                        {
                            return; // nothing to send: no THR-empty event either
                        }

                        break;
                    }

                    _tsr = _transmitFifo.Dequeue();
                    if (_transmitFifo.Count == 0)
                    {
                        _lsr |= LsrThrEmpty;
                    }
                }
                else if ((_lsr & LsrThrEmpty) != 0)
                {
                    if (!sent)
                    {
                        return;
                    }

                    break;
                }
                else
                {
                    _tsr = _thr;
                    _lsr |= LsrThrEmpty;
                    _lsr &= unchecked((byte)~LsrTransmitterEmpty);
                }

                _tsrPending = true;
            }

            if ((_mcr & McrLoopback) != 0)
            {
                ReceiveByteLocked(_tsr);
            }
            else if (_sink is not null && !_sink.TryWrite(_tsr))
            {
                _lsr &= unchecked((byte)~LsrTransmitterEmpty);
                UpdateInterruptLocked();
                return; // the sink calls SinkReady when it has room
            }
            else
            {
                Transmitted.Add(_tsr);
            }

            _tsrPending = false;
            sent = true;
        }

        if ((_lsr & LsrThrEmpty) != 0)
        {
            _lsr |= LsrTransmitterEmpty;
            _thrInterruptPending = true;
        }

        UpdateInterruptLocked();
    }
}
