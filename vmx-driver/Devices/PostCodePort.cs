// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>The POST diagnostic port (0x80): remembers the last code and counts writes; reads return the last code.</summary>
public sealed class PostCodePort : IIoPortHandler
{
    private byte _last;
    private long _writes;

    /// <summary>The last code written.</summary>
    public byte LastCode => _last;

    /// <summary>Writes so far (written by the one core that holds the run baton, so a plain counter).</summary>
    public long Writes => Volatile.Read(ref _writes);

    /// <inheritdoc/>
    public byte ReadByte(ushort port) => LastCode;

    /// <inheritdoc/>
    public void WriteByte(ushort port, byte value)
    {
        _last = value;
        _writes++;
    }
}
