// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>The i8042 keyboard controller, enough for firmware: status 0x1C (system flag, command mode, unlocked, both
/// buffers empty), data reads 0, commands accepted and ignored.</summary>
public sealed class I8042 : IIoPortHandler
{
    /// <summary>The status byte firmware sees.</summary>
    public const byte Status = 0x1C;

    /// <inheritdoc/>
    public byte ReadByte(ushort port) => port == StandardPorts.I8042Status ? Status : (byte)0;

    /// <inheritdoc/>
    public void WriteByte(ushort port, byte value)
    {
    }
}
