// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using System.Text;

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// QEMU's fw_cfg, traditional I/O interface: a 16-bit selector at 0x510 and a byte-wide data port at 0x511 that reads
/// the selected item sequentially. Items: the "QEMU" signature (0x00), the interface ID (0x01: traditional interface
/// only, no DMA), the RAM size (0x03), the CPU counts (0x05, 0x0F), the file directory (0x19) and the files added with
/// <see cref="AddFile"/> — by default "etc/e820" with the guest's RAM, as QEMU provides it.
/// </summary>
public sealed class FwCfg : IIoPortHandler
{
    public const ushort KeySignature = 0x00;
    public const ushort KeyId = 0x01;
    public const ushort KeyRamSize = 0x03;
    public const ushort KeyCpuCount = 0x05;
    public const ushort KeyMaxCpus = 0x0F;
    public const ushort KeyFileDirectory = 0x19;
    public const ushort FirstFileKey = 0x20;
    private const int FileNameSize = 56;
    private const uint E820Ram = 1;

    private readonly Dictionary<ushort, byte[]> _items = [];
    private readonly List<(string Name, ushort Key, int Size)> _files = [];
    private byte[] _current = [];
    private int _offset;

    public FwCfg(ulong ramBytes, int cores)
    {
        _items[KeySignature] = Encoding.ASCII.GetBytes("QEMU");
        _items[KeyId] = [1, 0, 0, 0];
        var ram = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(ram, ramBytes);
        _items[KeyRamSize] = ram;
        var cpus = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(cpus, (ushort)cores);
        _items[KeyCpuCount] = cpus;
        _items[KeyMaxCpus] = cpus;
        var e820 = new byte[20];
        BinaryPrimitives.WriteUInt64LittleEndian(e820.AsSpan(0), 0);
        BinaryPrimitives.WriteUInt64LittleEndian(e820.AsSpan(8), ramBytes);
        BinaryPrimitives.WriteUInt32LittleEndian(e820.AsSpan(16), E820Ram);
        AddFile("etc/e820", e820);
    }

    /// <summary>Adds a named file to the directory.</summary>
    public void AddFile(string name, byte[] contents)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(contents);
        if (Encoding.ASCII.GetByteCount(name) >= FileNameSize)
        {
            throw new ArgumentException($"fw_cfg file name '{name}' is longer than {FileNameSize - 1} characters.", nameof(name));
        }

        ushort key = (ushort)(FirstFileKey + _files.Count);
        _items[key] = contents;
        _files.Add((name, key, contents.Length));
        RebuildDirectory();
    }

    private void RebuildDirectory()
    {
        // struct FWCfgFiles { be32 count; struct { be32 size; be16 select; u16 reserved; char name[56]; } f[]; }
        var dir = new byte[4 + (_files.Count * 64)];
        BinaryPrimitives.WriteUInt32BigEndian(dir, (uint)_files.Count);
        for (int i = 0; i < _files.Count; i++)
        {
            Span<byte> e = dir.AsSpan(4 + (i * 64), 64);
            BinaryPrimitives.WriteUInt32BigEndian(e, (uint)_files[i].Size);
            BinaryPrimitives.WriteUInt16BigEndian(e[4..], _files[i].Key);
            Encoding.ASCII.GetBytes(_files[i].Name, e[8..]);
        }

        _items[KeyFileDirectory] = dir;
    }

    /// <inheritdoc/>
    public byte ReadByte(ushort port)
    {
        if (port != StandardPorts.FwCfgData || _offset >= _current.Length)
        {
            return 0;
        }

        return _current[_offset++];
    }

    /// <inheritdoc/>
    public void WriteByte(ushort port, byte value)
    {
        if (port == StandardPorts.FwCfgSelector)
        {
            Select(value);
        }
    }

    /// <inheritdoc/>
    public void WriteWord(ushort port, ushort value)
    {
        if (port == StandardPorts.FwCfgSelector)
        {
            Select(value);
        }
    }

    private void Select(ushort key)
    {
        _current = _items.TryGetValue(key, out byte[]? item) ? item : [];
        _offset = 0;
    }
}
