// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using System.Text;
using HyperDbgRemote.VmxDriver.Guests.Linux;

namespace HyperDbgRemote.VmxDriver.Tests.Linux;

/// <summary>Writes BTF blobs by the format's rules (Documentation/bpf/btf.rst), type by type; ids start at 1.</summary>
internal sealed class BtfBuilder
{
    private readonly List<byte> _types = [];
    private readonly List<byte> _strings = [0];
    private int _next = 1;

    public int Int(string name, uint bytes) => Add(name, BtfKind.IntegerType, 0, bytes, [bytes * 8]); // encoding 0, offset 0, bits

    public int Typedef(string name, int type) => Add(name, BtfKind.Typedef, 0, (uint)type, []);

    public int Const(int type) => Add(null, BtfKind.Const, 0, (uint)type, []);

    public int Array(int element, int index, uint count) => Add(null, BtfKind.Array, 0, 0, [(uint)element, (uint)index, count]);

    public int Pointer(int type) => Add(null, BtfKind.PointerType, 0, (uint)type, []);

    /// <summary>A structure (or union); members are (name or null, type, bit offset).</summary>
    public int Struct(string? name, uint size, params (string? Name, int Type, uint BitOffset)[] members) =>
        Add(name, BtfKind.Struct, members.Length, size, [.. members.SelectMany(m => new[] { Str(m.Name), (uint)m.Type, m.BitOffset })]);

    /// <summary>A structure whose member offsets are bit-field size &lt;&lt; 24 | bit offset (kind_flag set).</summary>
    public int BitfieldStruct(string name, uint size, params (string? Name, int Type, uint BitOffset)[] members) =>
        Add(name, BtfKind.Struct, members.Length | unchecked((int)0x8000_0000), size, [.. members.SelectMany(m => new[] { Str(m.Name), (uint)m.Type, m.BitOffset })]);

    public int Fwd(string name) => Add(name, BtfKind.Fwd, 0, 0, []);

    /// <summary>A raw record, for hostile blobs.</summary>
    public int Raw(uint nameOff, uint info, uint sizeOrType, params uint[] extra)
    {
        Words([nameOff, info, sizeOrType, .. extra]);
        return _next++;
    }

    public byte[] Build(Action<byte[]>? patchHeader = null)
    {
        byte[] blob = new byte[24 + _types.Count + _strings.Count];
        Span<byte> h = blob;
        BinaryPrimitives.WriteUInt16LittleEndian(h, Btf.Magic);
        h[2] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], 24);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], (uint)_types.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], (uint)_types.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], (uint)_strings.Count);
        _types.CopyTo(blob, 24);
        _strings.CopyTo(blob, 24 + _types.Count);
        patchHeader?.Invoke(blob);
        return blob;
    }

    /// <summary>A kernel-like task_struct: pid and tgid (pid_t) after a leading field, comm[16] inside an anonymous
    /// struct, and the struct's size. Offsets: pid 0x10, tgid 0x14, comm 0x20 + 0x8.</summary>
    public static BtfBuilder TaskStruct()
    {
        var b = new BtfBuilder();
        int i32 = b.Int("int", 4);
        int chr = b.Int("char", 1);
        int u64 = b.Int("long unsigned int", 8);
        int pidT = b.Typedef("pid_t", b.Typedef("__kernel_pid_t", i32));
        b.Fwd("task_struct"); // a forward declaration first, as in a real kernel's BTF
        int comm = b.Array(chr, i32, 16);
        int inner = b.Struct(null, 0x30, ("flags", u64, 0), ("comm", comm, 0x40));
        b.Struct("task_struct", 0x100, ("state", u64, 0), ("pid", pidT, 0x80), ("tgid", b.Const(pidT), 0xA0), (null, inner, 0x100));
        return b;
    }

    private int Add(string? name, BtfKind kind, int vlen, uint sizeOrType, uint[] extra)
    {
        Words([Str(name), ((uint)kind << 24) | (uint)vlen, sizeOrType, .. extra]);
        return _next++;
    }

    private uint Str(string? name)
    {
        if (name is null)
        {
            return 0;
        }

        uint at = (uint)_strings.Count;
        _strings.AddRange(Encoding.ASCII.GetBytes(name));
        _strings.Add(0);
        return at;
    }

    private void Words(uint[] words)
    {
        foreach (uint w in words)
        {
            _types.AddRange(BitConverter.GetBytes(w));
        }
    }
}
