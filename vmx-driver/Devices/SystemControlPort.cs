// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>System control port A (0x92): bit 1 is the fast A20 gate and reads back; bit 0 (fast reset) is recorded.</summary>
public sealed class SystemControlPort : IIoPortHandler
{
    private const byte ResetBit = 0x01;
    private byte _value;

    /// <summary>Times the guest pulsed the fast-reset bit.</summary>
    public int ResetRequests { get; private set; }

    /// <inheritdoc/>
    public byte ReadByte(ushort port) => (byte)(_value & ~ResetBit);

    /// <inheritdoc/>
    public void WriteByte(ushort port, byte value)
    {
        if ((value & ResetBit) != 0)
        {
            ResetRequests++;
        }

        _value = value;
    }
}
