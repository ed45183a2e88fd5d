// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// The two 8259A PICs (0x20/0x21 and 0xA0/0xA1): the ICW1–ICW4 initialisation sequence, the interrupt mask (OCW1) and
/// OCW3 register selection (IRR/ISR read as 0: no interrupt is ever pending, since no device raises one).
/// </summary>
public sealed class Pic8259 : IIoPortHandler
{
    private const byte Icw1Init = 0x10;
    private const byte Icw1NeedIcw4 = 0x01;
    private readonly Controller _master = new();
    private readonly Controller _slave = new();

    private sealed class Controller
    {
        public byte Mask = 0xFF;
        public byte VectorBase;
        public int InitStep;
        public bool NeedIcw4;
    }

    /// <summary>The vector base programmed into the master (ICW2).</summary>
    public byte MasterVectorBase => _master.VectorBase;

    /// <summary>The master's interrupt mask.</summary>
    public byte MasterMask => _master.Mask;

    /// <inheritdoc/>
    public byte ReadByte(ushort port)
    {
        Controller c = (port & 0xF0) == StandardPorts.PicSlave ? _slave : _master;
        return (port & 1) != 0 ? c.Mask : (byte)0;
    }

    /// <inheritdoc/>
    public void WriteByte(ushort port, byte value)
    {
        Controller c = (port & 0xF0) == StandardPorts.PicSlave ? _slave : _master;
        if ((port & 1) == 0)
        {
            if ((value & Icw1Init) != 0)
            {
                c.InitStep = 2;
                c.NeedIcw4 = (value & Icw1NeedIcw4) != 0;
                c.Mask = 0;
            }

            return;
        }

        switch (c.InitStep)
        {
            case 2:
                c.VectorBase = (byte)(value & 0xF8);
                c.InitStep = 3;
                break;
            case 3:
                c.InitStep = c.NeedIcw4 ? 4 : 0;
                break;
            case 4:
                c.InitStep = 0;
                break;
            default:
                c.Mask = value;
                break;
        }
    }
}
