// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// System control port A (0x92) as QEMU's port92 presents it: reads return what was written; bit 1 is the fast A20
/// gate; a rising bit 0 (fast reset) resets the machine.
/// </summary>
public sealed class SystemControlPort : IIoPortHandler
{
    private const byte ResetBit = 0x01;
    private const byte A20Bit = 0x02;
    private readonly ISystemReset? _reset;
    private int _value;
    private int _resetRequests;

    public SystemControlPort(ISystemReset? reset = null)
    {
        _reset = reset;
    }

    /// <summary>Times the guest pulsed the fast-reset bit.</summary>
    public int ResetRequests => Volatile.Read(ref _resetRequests);

    /// <summary>The fast A20 gate.</summary>
    public bool A20 => (Volatile.Read(ref _value) & A20Bit) != 0;

    /// <inheritdoc/>
    public byte ReadByte(ushort port) => (byte)Volatile.Read(ref _value);

    /// <inheritdoc/>
    public void WriteByte(ushort port, byte value)
    {
        int old = Interlocked.Exchange(ref _value, value);
        if ((value & ResetBit) != 0 && (old & ResetBit) == 0)
        {
            Interlocked.Increment(ref _resetRequests);
            _reset?.RequestReset($"port 0x92 fast reset (0x{value:X2})");
        }
    }
}
