// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// PCI configuration mechanism #1 (0xCF8 address, 0xCFC–0xCFF data) with one device, the i440FX host bridge at 00:00.0
/// (8086:1237, class 0600, subsystem 1af4:1100 as QEMU gives it, which firmware uses to detect QEMU). Its command
/// register and bytes 0x40–0xFF (PAM and other chipset registers) are writable. Absent functions read all ones.
/// </summary>
public sealed class PciHostBridge : IIoPortHandler
{
    /// <summary>Number of ports (0xCF8–0xCFF).</summary>
    public const int PortCount = 8;

    private const uint EnableBit = 0x8000_0000;
    private const int ConfigSize = 256;
    private const int FirstWritable = 0x40;
    private readonly byte[] _config = new byte[ConfigSize];
    private uint _address;

    public PciHostBridge()
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(0x00), 0x8086);
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(0x02), 0x1237);
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(0x04), 0x0006);
        _config[0x08] = 0x02;
        _config[0x0A] = 0x00;
        _config[0x0B] = 0x06;
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(0x2C), 0x1AF4);
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(0x2E), 0x1100);
    }

    /// <summary>A byte of the host bridge's configuration space.</summary>
    public byte ConfigByte(int offset) => _config[offset];

    /// <inheritdoc/>
    public byte ReadByte(ushort port)
    {
        int offset = port - StandardPorts.PciConfigAddress;
        return offset < 4 ? (byte)(_address >> (8 * offset)) : DataByte(offset - 4);
    }

    /// <inheritdoc/>
    public void WriteByte(ushort port, byte value)
    {
        int offset = port - StandardPorts.PciConfigAddress;
        if (offset < 4)
        {
            int shift = 8 * offset;
            _address = (_address & ~(0xFFu << shift)) | ((uint)value << shift);
            return;
        }

        WriteDataByte(offset - 4, value);
    }

    /// <inheritdoc/>
    public uint ReadDword(ushort port) => port == StandardPorts.PciConfigAddress
        ? _address
        : (uint)(DataByte(0) | (DataByte(1) << 8) | (DataByte(2) << 16) | (DataByte(3) << 24));

    /// <inheritdoc/>
    public void WriteDword(ushort port, uint value)
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

    private int? SelectedRegister(int byteInData)
    {
        if ((_address & EnableBit) == 0)
        {
            return null;
        }

        int bus = (int)((_address >> 16) & 0xFF);
        int device = (int)((_address >> 11) & 0x1F);
        int function = (int)((_address >> 8) & 7);
        if (bus != 0 || device != 0 || function != 0)
        {
            return null;
        }

        return (int)(_address & 0xFC) + byteInData;
    }

    private byte DataByte(int byteInData) => SelectedRegister(byteInData) is int r ? _config[r] : (byte)0xFF;

    private void WriteDataByte(int byteInData, byte value)
    {
        if (SelectedRegister(byteInData) is int r && (r >= FirstWritable || r is 0x04 or 0x05))
        {
            _config[r] = value;
        }
    }
}
