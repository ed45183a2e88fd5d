// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// A device's port interface: width-specific reads and writes only. Wide accesses default to byte accesses at
/// consecutive ports, low byte first, as an ISA bus does. Handlers run on the core's thread.
/// </summary>
public interface IIoPortHandler
{
    /// <summary>Reads one byte.</summary>
    byte ReadByte(ushort port);

    /// <summary>Writes one byte.</summary>
    void WriteByte(ushort port, byte value);

    /// <summary>Reads two bytes.</summary>
    ushort ReadWord(ushort port) => (ushort)(ReadByte(port) | (ReadByte(unchecked((ushort)(port + 1))) << 8));

    /// <summary>Reads four bytes.</summary>
    uint ReadDword(ushort port) => ReadWord(port) | ((uint)ReadWord(unchecked((ushort)(port + 2))) << 16);

    /// <summary>Writes two bytes.</summary>
    void WriteWord(ushort port, ushort value)
    {
        WriteByte(port, (byte)value);
        WriteByte(unchecked((ushort)(port + 1)), (byte)(value >> 8));
    }

    /// <summary>Writes four bytes.</summary>
    void WriteDword(ushort port, uint value)
    {
        WriteWord(port, (ushort)value);
        WriteWord(unchecked((ushort)(port + 2)), (ushort)(value >> 16));
    }
}
