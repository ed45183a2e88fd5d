// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// The PS/2 mouse behind the i8042's aux port, answering commands as QEMU's ps2_write_mouse does: reset (FA AA 00),
/// get type (FA 00, a standard mouse), status request (FA, status, resolution, sample rate), resolution and sample
/// rate with their parameter, scaling, stream/remote mode, enable/disable, defaults, wrap mode (echo).
/// Not thread-safe: <see cref="I8042"/> serialises access.
/// </summary>
public sealed class Ps2Mouse
{
    /// <summary>Bytes the device buffers for the controller.</summary>
    public const int QueueSize = 16;

    private const byte Ack = 0xFA;
    private const byte Resend = 0xFE;
    private const byte StatusRemote = 0x40;
    private const byte StatusEnabled = 0x20;
    private const byte StatusScale21 = 0x10;
    private readonly Queue<byte> _queue = new();
    private byte _pendingCommand;
    private bool _wrap;
    private byte _status;
    private byte _resolution = 2;
    private byte _sampleRate = 100;

    /// <summary>Whether the mouse reports movement (stream mode, enabled).</summary>
    public bool Enabled => (_status & StatusEnabled) != 0;

    internal bool HasData => _queue.Count > 0;

    internal byte Take() => _queue.Dequeue();

    internal void Queue(byte value)
    {
        if (_queue.Count < QueueSize)
        {
            _queue.Enqueue(value);
        }
    }

    /// <summary>A byte from the host (controller command 0xD4).</summary>
    internal void Write(byte value)
    {
        if (_pendingCommand != 0)
        {
            if (_pendingCommand == 0xE8)
            {
                _resolution = value;
            }
            else
            {
                _sampleRate = value;
            }

            _pendingCommand = 0;
            Queue(Ack);
            return;
        }

        if (_wrap && value is not (0xEC or 0xFF))
        {
            Queue(value); // wrap mode echoes everything but "reset wrap" and "reset"
            return;
        }

        switch (value)
        {
            case 0xE6:
                _status &= unchecked((byte)~StatusScale21);
                Queue(Ack);
                break;
            case 0xE7:
                _status |= StatusScale21;
                Queue(Ack);
                break;
            case 0xE8 or 0xF3:
                _pendingCommand = value;
                Queue(Ack);
                break;
            case 0xE9:
                Queue(Ack);
                Queue(_status);
                Queue(_resolution);
                Queue(_sampleRate);
                break;
            case 0xEA:
                _status &= unchecked((byte)~StatusRemote);
                Queue(Ack);
                break;
            case 0xEB:
                Queue(Ack);
                Queue(0x08); // a packet with no movement: bit 3 is always set
                Queue(0);
                Queue(0);
                break;
            case 0xEC:
                _wrap = false;
                Queue(Ack);
                break;
            case 0xEE:
                _wrap = true;
                Queue(Ack);
                break;
            case 0xF0:
                _status |= StatusRemote;
                Queue(Ack);
                break;
            case 0xF2:
                Queue(Ack);
                Queue(0x00);
                break;
            case 0xF4:
                _status |= StatusEnabled;
                Queue(Ack);
                break;
            case 0xF5:
                _status &= unchecked((byte)~StatusEnabled);
                Queue(Ack);
                break;
            case 0xF6:
                Defaults();
                Queue(Ack);
                break;
            case 0xFF:
                _queue.Clear();
                Defaults();
                _wrap = false;
                Queue(Ack);
                Queue(0xAA);
                Queue(0x00);
                break;
            default:
                Queue(Resend);
                break;
        }
    }

    private void Defaults()
    {
        _status = 0;
        _resolution = 2;
        _sampleRate = 100;
    }
}
