// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using System.Text;

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// QEMU's fw_cfg (QEMU's docs/specs/fw_cfg.rst). The traditional I/O interface: a 16-bit selector at 0x510 and a
/// byte-wide data port at 0x511 that reads the selected item sequentially. With a VM to transfer into, the DMA
/// interface too: the address of a <c>FWCfgDmaAccess</c> (big-endian control, length, address) written to 0x514 (high
/// half) and 0x518 (low half, which starts the transfer), and the signature "QEMU CFG" read there. Items: the "QEMU"
/// signature (0x00), the interface ID (0x01: traditional, plus DMA when offered), the RAM size (0x03), the CPU counts
/// (0x05, 0x0F), the file directory (0x19), the items a guest loader sets with <see cref="SetItem(ushort, byte[])"/> (the Linux
/// kernel's, 0x07–0x18, as QEMU's -kernel) and the files added with <see cref="AddFile"/> — by default, as QEMU 7.2's
/// pc machine provides them, "etc/e820" (the reserved HyperTransport range of an AMD CPU and the guest's RAM) and the
/// SMBIOS tables with their entry point (<see cref="SmbiosTables"/>).
/// </summary>
public sealed class FwCfg : IIoPortHandler
{
    public const ushort KeySignature = 0x00;
    public const ushort KeyId = 0x01;
    public const ushort KeyRamSize = 0x03;
    public const ushort KeyCpuCount = 0x05;

    /// <summary>FW_CFG_KERNEL_ADDR: where the protected-mode kernel goes (QEMU's include/standard-headers/linux/qemu_fw_cfg.h).</summary>
    public const ushort KeyKernelAddress = 0x07;
    public const ushort KeyKernelSize = 0x08;
    public const ushort KeyInitrdAddress = 0x0A;
    public const ushort KeyInitrdSize = 0x0B;
    public const ushort KeyMaxCpus = 0x0F;
    public const ushort KeyKernelData = 0x11;
    public const ushort KeyInitrdData = 0x12;
    public const ushort KeyCommandLineAddress = 0x13;
    public const ushort KeyCommandLineSize = 0x14;
    public const ushort KeyCommandLineData = 0x15;

    /// <summary>FW_CFG_SETUP_ADDR: where the real-mode setup code (with its patched header) goes.</summary>
    public const ushort KeySetupAddress = 0x16;
    public const ushort KeySetupSize = 0x17;
    public const ushort KeySetupData = 0x18;
    public const ushort KeyFileDirectory = 0x19;
    public const ushort FirstFileKey = 0x20;
    /// <summary>The DMA interface's ports: the 64-bit address register at 0x514–0x51B.</summary>
    public const int DmaPortCount = 8;

    /// <summary>FWCfgDmaAccess.control bits (fw_cfg.rst, "FWCfgDmaAccess").</summary>
    public const uint DmaError = 0x01;
    public const uint DmaRead = 0x02;
    public const uint DmaSkip = 0x04;
    public const uint DmaSelect = 0x08;
    public const uint DmaWrite = 0x10;

    /// <summary>The longest transfer one DMA access may ask for (QEMU's items are far smaller; the guest sets the length).</summary>
    public const uint MaximumDmaLength = 64 * 1024 * 1024;

    private const int FileNameSize = 56;
    private const uint E820Ram = 1;
    private const uint E820Reserved = 2;
    private const uint IdTraditional = 1;
    private const uint IdDma = 2;
    private const int DmaAccessSize = 16;

    private static readonly byte[] s_dmaSignature = Encoding.ASCII.GetBytes("QEMU CFG");

    private readonly Dictionary<ushort, byte[]> _items = [];
    private readonly List<(string Name, ushort Key, int Size)> _files = [];
    private readonly VirtualMachine? _dma;
    private byte[] _current = [];
    private int _offset;
    private uint _dmaAddressHigh;

    /// <summary>fw_cfg for a machine with <paramref name="ramBytes"/> of RAM and <paramref name="cores"/> CPUs; with
    /// <paramref name="dma"/>, the DMA interface transfers into that VM's memory.</summary>
    public FwCfg(ulong ramBytes, int cores, VirtualMachine? dma = null)
    {
        _dma = dma;
        _items[KeySignature] = Encoding.ASCII.GetBytes("QEMU");
        _items[KeyId] = [(byte)(IdTraditional | (dma is null ? 0 : IdDma)), 0, 0, 0];
        var ram = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(ram, ramBytes);
        _items[KeyRamSize] = ram;
        var cpus = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(cpus, (ushort)cores);
        _items[KeyCpuCount] = cpus;
        _items[KeyMaxCpus] = cpus;
        // QEMU 7.2's pc machine: for an AMD CPU with 40 or more physical address bits (ours, as its qemu64) the
        // HyperTransport range below 1 TiB is reserved, then the RAM (e820_add_entry order; the firmware sorts).
        var e820 = new byte[40];
        WriteE820(e820.AsSpan(0), AmdHyperTransportStart, AmdHyperTransportSize, E820Reserved);
        WriteE820(e820.AsSpan(20), 0, ramBytes, E820Ram);
        AddFile("etc/e820", e820);
        (byte[] tables, byte[] anchor) = SmbiosTables.Build(ramBytes, cores);
        AddFile(SmbiosTables.TablesFile, tables);
        AddFile(SmbiosTables.AnchorFile, anchor);
    }

    /// <summary>The HyperTransport range QEMU reserves below 1 TiB for AMD CPUs (AMD_HT_START, 1 TiB - 12 GiB).</summary>
    public const ulong AmdHyperTransportStart = 0xFD_0000_0000;

    /// <summary>The size of <see cref="AmdHyperTransportStart"/>'s range (AMD_HT_SIZE, 12 GiB).</summary>
    public const ulong AmdHyperTransportSize = 0x3_0000_0000;

    private static void WriteE820(Span<byte> entry, ulong address, ulong length, uint type)
    {
        // struct e820_entry { le64 address; le64 length; le32 type; } (packed)
        BinaryPrimitives.WriteUInt64LittleEndian(entry, address);
        BinaryPrimitives.WriteUInt64LittleEndian(entry[8..], length);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[16..], type);
    }

    /// <summary>Sets a fixed item (a key below <see cref="FirstFileKey"/> other than the directory), replacing what it held.</summary>
    public void SetItem(ushort key, byte[] contents)
    {
        ArgumentNullException.ThrowIfNull(contents);
        if (key >= FirstFileKey || key == KeyFileDirectory)
        {
            throw new ArgumentOutOfRangeException(nameof(key), key, "Files go through AddFile; the directory is built from them.");
        }

        _items[key] = contents;
    }

    /// <summary>Sets a fixed item to a 32-bit little-endian value (QEMU's fw_cfg_add_i32).</summary>
    public void SetItem(ushort key, uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        SetItem(key, bytes);
    }

    /// <summary>Whether a file of that name is in the directory.</summary>
    public bool HasFile(string name) => _files.Exists(f => f.Name == name);

    /// <summary>Adds a named file to the directory.</summary>
    public void AddFile(string name, byte[] contents)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(contents);
        if (Encoding.ASCII.GetByteCount(name) >= FileNameSize)
        {
            throw new ArgumentException($"fw_cfg file name '{name}' is longer than {FileNameSize - 1} characters.", nameof(name));
        }

        if (HasFile(name))
        {
            throw new ArgumentException($"fw_cfg already has a file '{name}'.", nameof(name));
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

    /// <summary>DMA transfers done so far.</summary>
    public long DmaTransfers { get; private set; }

    /// <inheritdoc/>
    public byte ReadByte(ushort port)
    {
        if (_dma is not null && port >= StandardPorts.FwCfgDma && port < StandardPorts.FwCfgDma + DmaPortCount)
        {
            return s_dmaSignature[port - StandardPorts.FwCfgDma];
        }

        if (port != StandardPorts.FwCfgData || _offset >= _current.Length)
        {
            return 0;
        }

        return _current[_offset++];
    }

    /// <inheritdoc/>
    public void WriteDword(ushort port, uint value)
    {
        // The guest writes each half big-endian (outl(cpu_to_be32(half))): the bus bytes are the address's bytes.
        if (_dma is null)
        {
            return;
        }

        if (port == StandardPorts.FwCfgDma)
        {
            _dmaAddressHigh = BinaryPrimitives.ReverseEndianness(value);
        }
        else if (port == StandardPorts.FwCfgDma + 4)
        {
            ulong address = ((ulong)_dmaAddressHigh << 32) | BinaryPrimitives.ReverseEndianness(value);
            _dmaAddressHigh = 0;
            Transfer(_dma, address);
        }
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

    /// <summary>
    /// One DMA access (QEMU's fw_cfg_dma_transfer): reads the FWCfgDmaAccess at <paramref name="accessAddress"/>,
    /// selects an item when asked, then reads (into guest memory), skips, or refuses a write (no item is writable),
    /// from the current offset; past the item's end a read gives zeros. The control word is written back as 0, or as
    /// the error bit, which is also the answer to an access that cannot be read or a transfer memory refuses.
    /// </summary>
    private void Transfer(VirtualMachine vm, ulong accessAddress)
    {
        DmaTransfers++;
        Span<byte> access = stackalloc byte[DmaAccessSize];
        if (vm.Memory.Read(accessAddress, access) != DmaAccessSize)
        {
            return; // no access structure to answer in
        }

        uint control = BinaryPrimitives.ReadUInt32BigEndian(access);
        uint length = BinaryPrimitives.ReadUInt32BigEndian(access[4..]);
        ulong address = BinaryPrimitives.ReadUInt64BigEndian(access[8..]);
        if ((control & DmaSelect) != 0)
        {
            Select((ushort)(control >> 16));
        }

        bool read = (control & DmaRead) != 0;
        bool write = !read && (control & DmaWrite) != 0;
        bool skip = !read && !write && (control & DmaSkip) != 0;
        uint result = 0;
        if (write || length > MaximumDmaLength)
        {
            result = DmaError;
        }
        else if (read || skip)
        {
            while (length > 0)
            {
                int available = Math.Max(0, _current.Length - _offset);
                int n = available == 0 ? (int)length : (int)Math.Min(length, (uint)available);
                if (read)
                {
                    ReadOnlySpan<byte> bytes = available == 0 ? new byte[n] : _current.AsSpan(_offset, n);
                    if (vm.WritePhysical(address, bytes) != n)
                    {
                        result = DmaError;
                        break;
                    }
                }

                _offset += available == 0 ? 0 : n;
                address += (ulong)n;
                length -= (uint)n;
            }
        }

        Span<byte> answer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(answer, result);
        vm.WritePhysical(accessAddress, answer);
    }

    private void Select(ushort key)
    {
        _current = _items.TryGetValue(key, out byte[]? item) ? item : [];
        _offset = 0;
    }
}
