// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// PCI configuration mechanism #1 on bus 0, as QEMU's pci_host.c decodes it: the address register is a dword at 0xCF8
/// (written only by 4-byte writes), the data window 0xCFC–0xCFF reads and writes 1, 2 or 4 bytes of the addressed
/// register and reads all ones when the enable bit is clear or no function answers. The byte at 0xCF9 is PIIX3's
/// reset control register (QEMU maps it over the address register). Functions: the i440FX host bridge at 00:00.0 and
/// the PIIX3 ISA bridge at 00:01.0. Thread-safe.
/// </summary>
public sealed class PciHostBridge : IIoPortHandler
{
    /// <summary>Number of ports (0xCF8–0xCFF).</summary>
    public const int PortCount = 8;

    private const uint EnableBit = 0x8000_0000;
    private readonly object _lock = new();
    private readonly Dictionary<int, PciFunction> _functions = [];
    private uint _address;

    /// <summary>The PC's bus 0 for a machine with <paramref name="ramBytes"/> of RAM.</summary>
    public PciHostBridge(ulong ramBytes = 0, ISystemReset? reset = null)
    {
        HostBridge = new I440fxHostBridge(ramBytes);
        IsaBridge = new Piix3IsaBridge(reset);
        _functions[DevFn(0, 0)] = HostBridge;
        _functions[DevFn(1, 0)] = IsaBridge;
    }

    /// <summary>00:00.0.</summary>
    public I440fxHostBridge HostBridge { get; }

    /// <summary>00:01.0.</summary>
    public Piix3IsaBridge IsaBridge { get; }

    /// <summary>The function at bus 0, <paramref name="device"/>.<paramref name="function"/>, or null.</summary>
    public PciFunction? Function(int device, int function) => _functions.GetValueOrDefault(DevFn(device, function));

    /// <inheritdoc/>
    public byte ReadByte(ushort port)
    {
        lock (_lock)
        {
            int offset = port - StandardPorts.PciConfigAddress;
            if (port == StandardPorts.ResetControl)
            {
                return IsaBridge.ReadResetControl();
            }

            return offset < 4 ? (byte)(_address >> (8 * offset)) : DataByte(offset - 4);
        }
    }

    /// <inheritdoc/>
    public void WriteByte(ushort port, byte value)
    {
        lock (_lock)
        {
            int offset = port - StandardPorts.PciConfigAddress;
            if (port == StandardPorts.ResetControl)
            {
                IsaBridge.WriteResetControl(value);
            }
            else if (offset >= 4)
            {
                WriteDataByte(offset - 4, value);
            }

            // Byte writes to the other address bytes are ignored: the address register takes dword writes only.
        }
    }

    /// <inheritdoc/>
    public ushort ReadWord(ushort port)
    {
        lock (_lock)
        {
            int offset = port - StandardPorts.PciConfigAddress;
            return offset < 4
                ? (ushort)(_address >> (8 * offset))
                : (ushort)(DataByte(offset - 4) | (DataByte(offset - 3) << 8));
        }
    }

    /// <inheritdoc/>
    public void WriteWord(ushort port, ushort value)
    {
        lock (_lock)
        {
            int offset = port - StandardPorts.PciConfigAddress;
            if (offset >= 4)
            {
                WriteDataByte(offset - 4, (byte)value);
                WriteDataByte(offset - 3, (byte)(value >> 8));
            }
        }
    }

    /// <inheritdoc/>
    public uint ReadDword(ushort port)
    {
        lock (_lock)
        {
            return port == StandardPorts.PciConfigAddress
                ? _address
                : (uint)(DataByte(0) | (DataByte(1) << 8) | (DataByte(2) << 16) | (DataByte(3) << 24));
        }
    }

    /// <inheritdoc/>
    public void WriteDword(ushort port, uint value)
    {
        lock (_lock)
        {
            if (port == StandardPorts.PciConfigAddress)
            {
                _address = value;
                return;
            }

            for (int i = 0; i < 4; i++)
            {
                WriteDataByte(i, (byte)(value >> (8 * i)));
            }
        }
    }

    private static int DevFn(int device, int function) => (device << 3) | function;

    private (PciFunction Function, int Register)? Selected(int byteInData)
    {
        if ((_address & EnableBit) == 0 || ((_address >> 16) & 0xFF) != 0)
        {
            return null;
        }

        int register = (int)(_address & 0xFC) + (byteInData & 3);
        return _functions.TryGetValue((int)((_address >> 8) & 0xFF), out PciFunction? f) ? (f, register) : null;
    }

    private byte DataByte(int byteInData) => Selected(byteInData) is (PciFunction f, int r) ? f.ReadConfig(r) : (byte)0xFF;

    private void WriteDataByte(int byteInData, byte value)
    {
        if (Selected(byteInData) is (PciFunction f, int r))
        {
            f.WriteConfig(r, value);
        }
    }
}
