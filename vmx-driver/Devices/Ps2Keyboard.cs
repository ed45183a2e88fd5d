// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// The PS/2 keyboard behind the i8042's first port, answering commands as QEMU's hw/input/ps2.c does
/// (ps2_write_keyboard): ACK (0xFA) with a BAT result (0xAA) after reset, the ID AB 83 (AB 41 when the controller
/// translates), LEDs, typematic rate, scancode set, echo, enable and disable; unknown commands get RESEND (0xFE).
/// Not thread-safe: <see cref="I8042"/> serialises access.
/// </summary>
public sealed class Ps2Keyboard
{
    /// <summary>Bytes the device buffers for the controller (PS2_QUEUE_SIZE).</summary>
    public const int QueueSize = 16;

    private const byte Ack = 0xFA;
    private const byte Resend = 0xFE;
    private const byte BatOk = 0xAA;
    private const byte CmdSetLeds = 0xED;
    private const byte CmdEcho = 0xEE;
    private const byte CmdScancodeSet = 0xF0;
    private const byte CmdGetId = 0xF2;
    private const byte CmdSetRate = 0xF3;
    private const byte CmdEnable = 0xF4;
    private const byte CmdResetDisable = 0xF5;
    private const byte CmdResetEnable = 0xF6;
    private const byte CmdReset = 0xFF;
    private static readonly byte[] s_translatedSet = [0xFF, 0x43, 0x41, 0x3F];

    private readonly Queue<byte> _queue = new();
    private byte _pendingCommand;

    /// <summary>Whether the keyboard sends key events.</summary>
    public bool ScanningEnabled { get; private set; } = true;

    /// <summary>The scancode set (1–3).</summary>
    public int ScancodeSet { get; private set; } = 2;

    /// <summary>The LED state from the last SET LEDS.</summary>
    public byte Leds { get; private set; }

    internal bool HasData => _queue.Count > 0;

    internal byte Take() => _queue.Dequeue();

    internal void Queue(byte value)
    {
        if (_queue.Count < QueueSize)
        {
            _queue.Enqueue(value);
        }
    }

    /// <summary>A byte from the host through the controller's data port.</summary>
    internal void Write(byte value, bool translate)
    {
        byte pending = _pendingCommand;
        _pendingCommand = 0;
        switch (pending)
        {
            case CmdSetLeds:
                Leds = value;
                Queue(Ack);
                return;
            case CmdSetRate:
                Queue(Ack);
                return;
            case CmdScancodeSet:
                if (value == 0)
                {
                    Queue(Ack);
                    Queue(translate ? s_translatedSet[ScancodeSet] : (byte)ScancodeSet);
                }
                else if (value is >= 1 and <= 3)
                {
                    ScancodeSet = value;
                    Queue(Ack);
                }
                else
                {
                    Queue(Resend);
                }

                return;
            default:
                break;
        }

        switch (value)
        {
            case CmdEcho:
                Queue(CmdEcho);
                break;
            case CmdGetId:
                Queue(Ack);
                Queue(0xAB);
                Queue(translate ? (byte)0x41 : (byte)0x83);
                break;
            case CmdSetLeds or CmdSetRate or CmdScancodeSet:
                _pendingCommand = value;
                Queue(Ack);
                break;
            case CmdEnable:
                ScanningEnabled = true;
                Queue(Ack);
                break;
            case CmdResetDisable or CmdResetEnable:
                ScanningEnabled = value == CmdResetEnable;
                ScancodeSet = 2;
                Queue(Ack);
                break;
            case CmdReset:
                _queue.Clear();
                ScanningEnabled = true;
                ScancodeSet = 2;
                Leds = 0;
                Queue(Ack);
                Queue(BatOk);
                break;
            case >= 0xF7 and <= 0xFD:
                Queue(Ack); // typematic/make/break mode commands: accepted
                break;
            default:
                Queue(Resend);
                break;
        }
    }
}
