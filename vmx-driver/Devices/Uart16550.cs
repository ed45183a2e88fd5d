// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// A 16550A UART at one COM base port, as QEMU's hw/char/serial.c presents it: the divisor latch, IER, IIR with the
/// datasheet's priorities (line status, character timeout, received data, THR empty, modem status), FCR with 16-byte
/// FIFOs and receive trigger levels 1/4/8/14, LCR, MCR with loopback, LSR, MSR (DCD, DSR, CTS asserted) and the
/// scratch register. The interrupt output drives an ISA IRQ line (COM1/COM3: IRQ 4, COM2/COM4: IRQ 3). Transmitted
/// bytes are captured in <see cref="Transmitted"/> and go to an attached <see cref="ISerialSink"/>; bytes from the
/// host enter through <see cref="Receive"/>. Thread-safe.
/// </summary>
public sealed partial class Uart16550 : IIoPortHandler
{
    /// <summary>Number of ports a UART occupies.</summary>
    public const int PortCount = 8;

    /// <summary>The input clock divided by 16: the baud rate at divisor 1.</summary>
    public const int BaudBase = 115_200;

    private const int RegData = 0;
    private const int RegInterruptEnable = 1;
    private const int RegInterruptId = 2;
    private const int RegLineControl = 3;
    private const int RegModemControl = 4;
    private const int RegLineStatus = 5;
    private const int RegModemStatus = 6;

    private const byte LcrDlab = 0x80;
    private const byte IerReceivedData = 0x01;
    private const byte IerThrEmpty = 0x02;
    private const byte IerLineStatus = 0x04;
    private const byte IerModemStatus = 0x08;
    private const byte IirNoInterrupt = 0x01;
    private const byte IirIdMask = 0x06;
    private const byte IirModemStatus = 0x00;
    private const byte IirThrEmpty = 0x02;
    private const byte IirReceivedData = 0x04;
    private const byte IirLineStatus = 0x06;
    private const byte IirCharacterTimeout = 0x0C;
    private const byte IirFifoEnabled = 0xC0;
    private const byte McrLoopback = 0x10;
    private const byte McrOut2 = 0x08;
    private const byte LsrDataReady = 0x01;
    private const byte LsrOverrun = 0x02;
    private const byte LsrBreak = 0x10;
    private const byte LsrInterruptAny = 0x1E;
    private const byte LsrThrEmpty = 0x20;
    private const byte LsrTransmitterEmpty = 0x40;
    private const byte MsrDeltaAny = 0x0F;
    private const byte MsrConnected = 0xB0; // DCD | DSR | CTS
    private const byte FcrEnable = 0x01;
    private const byte FcrReceiveReset = 0x02;
    private const byte FcrTransmitReset = 0x04;
    private const byte FcrKeptBits = 0xC9;

    private readonly object _lock = new();
    private readonly IInterruptLine? _irq;
    private readonly VirtualTimer? _timeoutTimer;
    private readonly VirtualClock? _clock;
    private byte _ier;
    private byte _iir = IirNoInterrupt;
    private byte _lcr;
    private byte _mcr = McrOut2;
    private byte _lsr = LsrThrEmpty | LsrTransmitterEmpty;
    private byte _msr = MsrConnected;
    private byte _scratch;
    private byte _fcr;
    private ushort _divisor = 0x0C;
    private bool _thrInterruptPending;
    private long _charTimeNs = 1_000_000_000L / 9600 * 10;

    /// <summary>A UART at <paramref name="basePort"/>; <paramref name="irq"/> and <paramref name="clock"/> (for the
    /// receive FIFO's character timeout) are optional.</summary>
    public Uart16550(ushort basePort, IInterruptLine? irq = null, VirtualClock? clock = null)
    {
        BasePort = basePort;
        _irq = irq;
        _clock = clock;
        _timeoutTimer = clock?.CreateTimer(OnCharacterTimeout);
    }

    /// <summary>The COM base port (0x3F8 for COM1).</summary>
    public ushort BasePort { get; }

    /// <summary>What the guest transmitted.</summary>
    public ByteCapture Transmitted { get; } = new();

    /// <summary>The baud-rate divisor the guest programmed (115200 / divisor baud).</summary>
    public ushort Divisor
    {
        get
        {
            lock (_lock)
            {
                return _divisor;
            }
        }
    }

    /// <inheritdoc/>
    public byte ReadByte(ushort port)
    {
        lock (_lock)
        {
            bool dlab = (_lcr & LcrDlab) != 0;
            switch (port - BasePort)
            {
                case RegData when dlab:
                    return (byte)_divisor;
                case RegData:
                    return ReadReceiveBufferLocked();
                case RegInterruptEnable when dlab:
                    return (byte)(_divisor >> 8);
                case RegInterruptEnable:
                    return _ier;
                case RegInterruptId:
                    {
                        byte iir = _iir;
                        if ((iir & IirIdMask) == IirThrEmpty && (iir & IirNoInterrupt) == 0)
                        {
                            // Reading IIR with the THR-empty interrupt showing clears it.
                            _thrInterruptPending = false;
                            UpdateInterruptLocked();
                        }

                        return iir;
                    }

                case RegLineControl:
                    return _lcr;
                case RegModemControl:
                    return _mcr;
                case RegLineStatus:
                    {
                        byte lsr = _lsr;
                        if ((_lsr & (LsrBreak | LsrOverrun)) != 0)
                        {
                            _lsr &= unchecked((byte)~(LsrBreak | LsrOverrun));
                            UpdateInterruptLocked();
                        }

                        return lsr;
                    }

                case RegModemStatus:
                    return ReadModemStatusLocked();
                default:
                    return _scratch;
            }
        }
    }

    /// <inheritdoc/>
    public void WriteByte(ushort port, byte value)
    {
        lock (_lock)
        {
            bool dlab = (_lcr & LcrDlab) != 0;
            switch (port - BasePort)
            {
                case RegData when dlab:
                    _divisor = (ushort)((_divisor & 0xFF00) | value);
                    UpdateParametersLocked();
                    break;
                case RegData:
                    WriteTransmitHoldingLocked(value);
                    break;
                case RegInterruptEnable when dlab:
                    _divisor = (ushort)((_divisor & 0x00FF) | (value << 8));
                    UpdateParametersLocked();
                    break;
                case RegInterruptEnable:
                    WriteInterruptEnableLocked(value);
                    break;
                case RegInterruptId:
                    WriteFifoControlLocked(value);
                    break;
                case RegLineControl:
                    _lcr = value;
                    UpdateParametersLocked();
                    break;
                case RegModemControl:
                    _mcr = (byte)(value & 0x1F);
                    break;
                case RegLineStatus or RegModemStatus:
                    break; // read-only
                default:
                    _scratch = value;
                    break;
            }
        }
    }

    private void WriteInterruptEnableLocked(byte value)
    {
        int changed = (_ier ^ value) & 0x0F;
        _ier = (byte)(value & 0x0F);

        // Enabling the THR-empty interrupt while THR is empty raises it, even if an IIR read had cleared it (QEMU:
        // "Windows relies on it"; Linux's THRE test toggles IER the same way).
        if ((changed & IerThrEmpty) != 0)
        {
            _thrInterruptPending = (_ier & IerThrEmpty) != 0 && (_lsr & LsrThrEmpty) != 0;
        }

        if (changed != 0)
        {
            UpdateInterruptLocked();
        }
    }

    private void WriteFifoControlLocked(byte value)
    {
        // A change of the enable bit flushes both FIFOs.
        if (((value ^ _fcr) & FcrEnable) != 0)
        {
            value |= FcrReceiveReset | FcrTransmitReset;
        }

        if ((value & FcrReceiveReset) != 0)
        {
            _lsr &= unchecked((byte)~(LsrDataReady | LsrBreak));
            _timeoutTimer?.Cancel();
            _timeoutPending = false;
            _receiveFifo.Clear();
        }

        if ((value & FcrTransmitReset) != 0)
        {
            _lsr |= LsrThrEmpty;
            _thrInterruptPending = true;
            _transmitFifo.Clear();
        }

        _fcr = (byte)(value & FcrKeptBits);
        _iir = (byte)((_iir & 0x0F) | ((_fcr & FcrEnable) != 0 ? IirFifoEnabled : 0));
        _triggerLevel = (_fcr >> 6) switch
        {
            0 => 1,
            1 => 4,
            2 => 8,
            _ => 14,
        };
        UpdateInterruptLocked();
        PumpInputLocked();
    }

    private byte ReadModemStatusLocked()
    {
        if ((_mcr & McrLoopback) != 0)
        {
            // Loopback: OUT2→DCD, OUT1→RI, RTS→CTS, DTR→DSR.
            return (byte)(((_mcr & 0x0C) << 4) | ((_mcr & 0x02) << 3) | ((_mcr & 0x01) << 5));
        }

        byte msr = _msr;
        if ((_msr & MsrDeltaAny) != 0)
        {
            _msr &= 0xF0;
            UpdateInterruptLocked();
        }

        return msr;
    }

    private void UpdateParametersLocked()
    {
        if (_divisor == 0)
        {
            return;
        }

        // Start bit, 5–8 data bits, optional parity, 1 or 2 stop bits.
        int frame = 1 + (_lcr & 0x03) + 5 + ((_lcr & 0x08) != 0 ? 1 : 0) + ((_lcr & 0x04) != 0 ? 2 : 1);
        _charTimeNs = 1_000_000_000L / (BaudBase / _divisor) * frame;
    }

    /// <summary>serial_update_irq: IIR and the IRQ line from the pending conditions, highest priority first.</summary>
    private void UpdateInterruptLocked()
    {
        byte id = IirNoInterrupt;
        if ((_ier & IerLineStatus) != 0 && (_lsr & LsrInterruptAny) != 0)
        {
            id = IirLineStatus;
        }
        else if ((_ier & IerReceivedData) != 0 && _timeoutPending)
        {
            id = IirCharacterTimeout;
        }
        else if ((_ier & IerReceivedData) != 0 && (_lsr & LsrDataReady) != 0
            && ((_fcr & FcrEnable) == 0 || _receiveFifo.Count >= _triggerLevel))
        {
            id = IirReceivedData;
        }
        else if ((_ier & IerThrEmpty) != 0 && _thrInterruptPending)
        {
            id = IirThrEmpty;
        }
        else if ((_ier & IerModemStatus) != 0 && (_msr & MsrDeltaAny) != 0)
        {
            id = IirModemStatus;
        }

        _iir = (byte)(id | (_iir & 0xF0));
        _irq?.SetLevel(id != IirNoInterrupt);
    }
}
