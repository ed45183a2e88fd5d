// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// A PCI function's 256-byte configuration space with a write mask per byte, as QEMU's PCI core keeps it
/// (pci_init_wmask): the command register, cache line size, latency timer and interrupt line are writable, and so is
/// the device-specific area from 0x40; everything else reads back what the device set. Not thread-safe:
/// <see cref="PciHostBridge"/> serialises access.
/// </summary>
public abstract class PciFunction
{
    /// <summary>Bytes of configuration space.</summary>
    public const int ConfigSize = 256;

    /// <summary>Red Hat/Qumranet, the subsystem vendor QEMU gives every device.</summary>
    public const ushort QemuSubsystemVendor = 0x1AF4;

    /// <summary>The subsystem id QEMU gives every device.</summary>
    public const ushort QemuSubsystem = 0x1100;

    /// <summary>Header type bit 7: the device has more functions.</summary>
    public const byte MultiFunction = 0x80;

    private const ushort CommandWritable = 0x0547; // I/O, memory, master, special, invalidate, VGA palette, parity, SERR, fast back-to-back, INTx disable (0x400)

    private readonly byte[] _config = new byte[ConfigSize];
    private readonly byte[] _writable = new byte[ConfigSize];

    /// <summary>Sets the identity registers; <paramref name="headerType"/> may carry <see cref="MultiFunction"/>.</summary>
    protected PciFunction(ushort vendor, ushort device, byte revision, uint classCode, byte headerType)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(0x00), vendor);
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(0x02), device);
        _config[0x08] = revision;
        _config[0x09] = (byte)classCode;
        _config[0x0A] = (byte)(classCode >> 8);
        _config[0x0B] = (byte)(classCode >> 16);
        _config[0x0E] = headerType;
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(0x2C), QemuSubsystemVendor);
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(0x2E), QemuSubsystem);
        _writable[0x04] = CommandWritable & 0xFF;
        _writable[0x05] = CommandWritable >> 8;
        _writable[0x0C] = 0xFF; // cache line size
        _writable[0x0D] = 0xFF; // latency timer
        _writable[0x3C] = 0xFF; // interrupt line
        _writable.AsSpan(0x40).Fill(0xFF);
    }

    /// <summary>Vendor id.</summary>
    public ushort VendorId => BinaryPrimitives.ReadUInt16LittleEndian(_config);

    /// <summary>Device id.</summary>
    public ushort DeviceId => BinaryPrimitives.ReadUInt16LittleEndian(_config.AsSpan(2));

    /// <summary>A byte of configuration space.</summary>
    public byte ConfigByte(int offset) => _config[offset];

    /// <summary>A configuration read of one byte.</summary>
    public virtual byte ReadConfig(int offset) => _config[offset];

    /// <summary>A configuration write of one byte: only writable bits change.</summary>
    public virtual void WriteConfig(int offset, byte value) =>
        _config[offset] = (byte)((_config[offset] & ~_writable[offset]) | (value & _writable[offset]));

    /// <summary>Sets a byte as the device's reset value (ignores the write mask).</summary>
    protected void Set(int offset, byte value) => _config[offset] = value;
}
