// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// The i8042 keyboard controller at 0x60 (data) and 0x64 (status/command) with a PS/2 keyboard and mouse, as QEMU's
/// hw/input/pckbd.c presents it: the command byte (read 0x20, write 0x60), self-test 0xAA → 0x55, interface tests
/// 0xAB/0xA9 → 0x00, port enable/disable (0xAD/0xAE, 0xA7/0xA8), input and output ports (0xC0, 0xD0, 0xD1), writes
/// to the output buffer as either device (0xD2, 0xD3), to the mouse (0xD4), A20 (0xDD/0xDF), and the output-port
/// pulse 0xF0–0xFF whose bit 0 — 0xFE — resets the machine. One output buffer: controller replies first, then
/// keyboard data, then mouse data; keyboard data raises IRQ 1 and mouse data IRQ 12 when the command byte enables
/// them. Thread-safe.
/// </summary>
public sealed class I8042 : IIoPortHandler
{
    private const byte StatusOutputFull = 0x01;
    private const byte StatusSystem = 0x04;
    private const byte StatusCommand = 0x08;
    private const byte StatusUnlocked = 0x10;
    private const byte StatusAuxData = 0x20;
    private const byte ModeKeyboardInterrupt = 0x01;
    private const byte ModeMouseInterrupt = 0x02;
    private const byte ModeDisableKeyboard = 0x10;
    private const byte ModeDisableMouse = 0x20;
    private const byte ModeTranslate = 0x40;
    private const byte OutResetLine = 0x01;
    private const byte OutA20 = 0x02;
    private const byte OutOnes = 0xCC;

    private readonly object _lock = new();
    private readonly IInterruptLine? _keyboardIrq;
    private readonly IInterruptLine? _mouseIrq;
    private readonly ISystemReset? _reset;
    private readonly Queue<(byte Value, bool Aux)> _controllerReplies = new();
    private byte _status = StatusCommand | StatusUnlocked;
    private byte _mode = ModeKeyboardInterrupt | ModeMouseInterrupt;
    private byte _outport = OutResetLine | OutA20 | OutOnes;
    private byte _writeCommand;
    private byte _output;

    /// <summary>A controller raising <paramref name="keyboardIrq"/> (IRQ 1) and <paramref name="mouseIrq"/> (IRQ 12),
    /// and asserting <paramref name="reset"/> on a reset pulse; all optional.</summary>
    public I8042(IInterruptLine? keyboardIrq = null, IInterruptLine? mouseIrq = null, ISystemReset? reset = null)
    {
        _keyboardIrq = keyboardIrq;
        _mouseIrq = mouseIrq;
        _reset = reset;
    }

    /// <summary>The keyboard on the first port.</summary>
    public Ps2Keyboard Keyboard { get; } = new();

    /// <summary>The mouse on the aux port.</summary>
    public Ps2Mouse Mouse { get; } = new();

    /// <summary>The command byte (controller configuration).</summary>
    public byte CommandByte
    {
        get
        {
            lock (_lock)
            {
                return _mode;
            }
        }
    }

    /// <summary>The A20 gate per the output port.</summary>
    public bool A20
    {
        get
        {
            lock (_lock)
            {
                return (_outport & OutA20) != 0;
            }
        }
    }

    /// <inheritdoc/>
    public byte ReadByte(ushort port)
    {
        lock (_lock)
        {
            if (port == StandardPorts.I8042Status)
            {
                return _status;
            }

            // Reading the data port empties the output buffer and drops the IRQ line; the next byte (if any) follows at
            // once and raises it again, a new edge for the edge-triggered PIC input.
            byte value = _output;
            _status &= unchecked((byte)~(StatusOutputFull | StatusAuxData));
            _keyboardIrq?.SetLevel(false);
            _mouseIrq?.SetLevel(false);
            UpdateLocked();
            return value;
        }
    }

    /// <inheritdoc/>
    public void WriteByte(ushort port, byte value)
    {
        bool reset = false;
        lock (_lock)
        {
            reset = port == StandardPorts.I8042Status ? CommandLocked(value) : DataLocked(value);
            UpdateLocked();
        }

        if (reset)
        {
            _reset?.RequestReset(port == StandardPorts.I8042Status ? $"i8042 command 0x{value:X2} (pulse reset)" : "i8042 output port bit 0 cleared (command 0xD1)");
        }
    }

    private bool CommandLocked(byte command)
    {
        // 0xF0–0xFF pulse output-port bits 3–0 low where the command's bit is 0; only bit 0 (reset) matters.
        if ((command & 0xF0) == 0xF0)
        {
            return (command & 1) == 0;
        }

        switch (command)
        {
            case 0x20:
                Reply(_mode);
                break;
            case 0x60 or 0xD1 or 0xD2 or 0xD3 or 0xD4:
                _writeCommand = command;
                break;
            case 0xA7:
                _mode |= ModeDisableMouse;
                break;
            case 0xA8:
                _mode &= unchecked((byte)~ModeDisableMouse);
                break;
            case 0xA9 or 0xAB:
                Reply(0x00); // interface test: no error
                break;
            case 0xAA:
                _status |= StatusSystem;
                Reply(0x55);
                break;
            case 0xAD:
                _mode |= ModeDisableKeyboard;
                break;
            case 0xAE:
                _mode &= unchecked((byte)~ModeDisableKeyboard);
                break;
            case 0xC0:
                Reply(0x80); // input port: keyboard not inhibited
                break;
            case 0xD0:
                Reply(_outport);
                break;
            case 0xDD:
                _outport &= unchecked((byte)~OutA20);
                break;
            case 0xDF:
                _outport |= OutA20;
                break;
            default:
                break; // unsupported commands are ignored, as QEMU does
        }

        return false;
    }

    private bool DataLocked(byte value)
    {
        byte command = _writeCommand;
        _writeCommand = 0;
        switch (command)
        {
            case 0:
                Keyboard.Write(value, (_mode & ModeTranslate) != 0);
                break;
            case 0x60:
                _mode = value;
                break;
            case 0xD1:
                _outport = value;
                return (value & OutResetLine) == 0;
            case 0xD2:
                Reply(value);
                break;
            case 0xD3:
                Reply(value, aux: true);
                break;
            default:
                Mouse.Write(value);
                break;
        }

        return false;
    }

    private void Reply(byte value, bool aux = false) => _controllerReplies.Enqueue((value, aux));

    /// <summary>Refills an empty output buffer (controller, then keyboard, then mouse) and drives IRQ 1 and IRQ 12.</summary>
    private void UpdateLocked()
    {
        if ((_status & StatusOutputFull) == 0)
        {
            bool aux = false;
            bool full = true;
            if (_controllerReplies.Count > 0)
            {
                (_output, aux) = _controllerReplies.Dequeue();
            }
            else if (Keyboard.HasData)
            {
                _output = Keyboard.Take();
            }
            else if (Mouse.HasData)
            {
                _output = Mouse.Take();
                aux = true;
            }
            else
            {
                full = false;
            }

            if (full)
            {
                _status |= (byte)(StatusOutputFull | (aux ? StatusAuxData : 0));
            }
        }

        bool outputFull = (_status & StatusOutputFull) != 0;
        bool auxData = (_status & StatusAuxData) != 0;
        _keyboardIrq?.SetLevel(outputFull && !auxData && (_mode & ModeKeyboardInterrupt) != 0 && (_mode & ModeDisableKeyboard) == 0);
        _mouseIrq?.SetLevel(outputFull && auxData && (_mode & ModeMouseInterrupt) != 0);
    }
}
