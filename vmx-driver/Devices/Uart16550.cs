// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// A 16550 UART at one COM base port: transmitted bytes go to <see cref="Transmitted"/>, received bytes are fed with
/// <see cref="Feed"/>. The transmitter is always ready (LSR THRE|TEMT); DLAB, IER, LCR, MCR and SCR read back.
/// </summary>
public sealed class Uart16550 : IIoPortHandler
{
    /// <summary>Number of ports a UART occupies.</summary>
    public const int PortCount = 8;

    private const int RegData = 0;
    private const int RegInterruptEnable = 1;
    private const int RegInterruptId = 2;
    private const int RegLineControl = 3;
    private const int RegModemControl = 4;
    private const int RegLineStatus = 5;
    private const int RegModemStatus = 6;
    private const int RegScratch = 7;
    private const byte LcrDlab = 0x80;
    private const byte LsrDataReady = 0x01;
    private const byte LsrTransmitterEmpty = 0x60;
    private const byte IirNoInterrupt = 0x01;
    private const byte MsrConnected = 0xB0;

    private readonly object _lock = new();
    private readonly Queue<byte> _receive = new();
    private byte _ier;
    private byte _lcr = 0x03;
    private byte _mcr;
    private byte _scratch;
    private ushort _divisor = 1;

    public Uart16550(ushort basePort)
    {
        BasePort = basePort;
    }

    /// <summary>The COM base port (0x3F8 for COM1).</summary>
    public ushort BasePort { get; }

    /// <summary>What the guest transmitted.</summary>
    public ByteCapture Transmitted { get; } = new();

    /// <summary>The baud-rate divisor the guest programmed (115200 / divisor baud).</summary>
    public ushort Divisor => _divisor;

    /// <summary>Queues bytes for the guest to receive.</summary>
    public void Feed(ReadOnlySpan<byte> bytes)
    {
        lock (_lock)
        {
            foreach (byte b in bytes)
            {
                _receive.Enqueue(b);
            }
        }
    }

    /// <inheritdoc/>
    public byte ReadByte(ushort port)
    {
        lock (_lock)
        {
            bool dlab = (_lcr & LcrDlab) != 0;
            return (port - BasePort) switch
            {
                RegData when dlab => (byte)_divisor,
                RegData => _receive.Count > 0 ? _receive.Dequeue() : (byte)0,
                RegInterruptEnable when dlab => (byte)(_divisor >> 8),
                RegInterruptEnable => _ier,
                RegInterruptId => IirNoInterrupt,
                RegLineControl => _lcr,
                RegModemControl => _mcr,
                RegLineStatus => (byte)(LsrTransmitterEmpty | (_receive.Count > 0 ? LsrDataReady : 0)),
                RegModemStatus => MsrConnected,
                _ => _scratch,
            };
        }
    }

    /// <inheritdoc/>
    public void WriteByte(ushort port, byte value)
    {
        bool transmit = false;
        lock (_lock)
        {
            bool dlab = (_lcr & LcrDlab) != 0;
            switch (port - BasePort)
            {
                case RegData when dlab:
                    _divisor = (ushort)((_divisor & 0xFF00) | value);
                    break;
                case RegData:
                    transmit = true;
                    break;
                case RegInterruptEnable when dlab:
                    _divisor = (ushort)((_divisor & 0x00FF) | (value << 8));
                    break;
                case RegInterruptEnable:
                    _ier = (byte)(value & 0x0F);
                    break;
                case RegLineControl:
                    _lcr = value;
                    break;
                case RegModemControl:
                    _mcr = (byte)(value & 0x1F);
                    break;
                case RegScratch:
                    _scratch = value;
                    break;
                default:
                    break;
            }
        }

        if (transmit)
        {
            Transmitted.Add(value);
        }
    }
}
