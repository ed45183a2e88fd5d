// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// QEMU's isa-debugcon / Bochs' port 0xE9: bytes written are captured; a read returns 0xE9, which is how firmware
/// (SeaBIOS) detects the port.
/// </summary>
public sealed class DebugConsole : IIoPortHandler
{
    /// <summary>What a read of the port returns.</summary>
    public const byte ReadbackValue = 0xE9;

    /// <summary>What the guest wrote.</summary>
    public ByteCapture Output { get; } = new();

    /// <inheritdoc/>
    public byte ReadByte(ushort port) => ReadbackValue;

    /// <inheritdoc/>
    public void WriteByte(ushort port, byte value) => Output.Add(value);
}
