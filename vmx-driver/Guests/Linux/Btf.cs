// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace HyperDbgRemote.VmxDriver.Guests.Linux;

/// <summary>
/// The BPF Type Format a kernel carries about its own types (Documentation/bpf/btf.rst, "2. BTF Type and String
/// Encoding"): a header, a type section of <c>struct btf_type</c> records each followed by its kind's data, and a
/// string section. Only what a debugger needs is read: structure members and the types they resolve to. The blob is
/// guest-controlled: every offset, count and chain is checked and bounded, and a malformed blob is an error value.
/// </summary>
public sealed class Btf
{
    /// <summary>The largest blob accepted (Debian 6.1's vmlinux BTF is about 4.4 MiB).</summary>
    public const int MaximumBytes = 64 * 1024 * 1024;

    /// <summary>The most types accepted (Debian 6.1's kernel has about 120,000).</summary>
    public const int MaximumTypes = 2_000_000;

    /// <summary>How many typedef/const/volatile links, or anonymous-member levels, are followed before giving up.</summary>
    public const int MaximumChain = 32;

    /// <summary>The magic number, 0xEB9F, read little-endian (a big-endian kernel's BTF is not supported).</summary>
    public const ushort Magic = 0xEB9F;

    private const int HeaderMinimumBytes = 24;
    private const int TypeRecordBytes = 12;

    private readonly byte[] _blob;
    private readonly int _strings;
    private readonly int _stringsLength;
    private readonly int[] _offsets; // type id → offset of its btf_type in _blob (id 0, void, has none)

    private Btf(byte[] blob, int strings, int stringsLength, int[] offsets)
    {
        _blob = blob;
        _strings = strings;
        _stringsLength = stringsLength;
        _offsets = offsets;
    }

    /// <summary>The number of types, void (id 0) included.</summary>
    public int TypeCount => _offsets.Length;

    /// <summary>Parses a blob: the header, then every type record's extent; false with a reason when malformed.</summary>
    public static bool TryParse(byte[] blob, [NotNullWhen(true)] out Btf? btf, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(blob);
        btf = null;
        if (blob.Length < HeaderMinimumBytes)
        {
            error = $"BTF: {blob.Length} bytes is shorter than its header";
            return false;
        }

        if (blob.Length > MaximumBytes)
        {
            error = $"BTF: {blob.Length} bytes is more than the {MaximumBytes} accepted";
            return false;
        }

        ReadOnlySpan<byte> b = blob;
        ushort magic = BinaryPrimitives.ReadUInt16LittleEndian(b);
        if (magic != Magic)
        {
            error = $"BTF: magic 0x{magic:X4} is not 0x{Magic:X4}";
            return false;
        }

        if (b[2] != 1)
        {
            error = $"BTF: version {b[2]} is not 1";
            return false;
        }

        uint headerLength = BinaryPrimitives.ReadUInt32LittleEndian(b[4..]);
        uint typeOff = BinaryPrimitives.ReadUInt32LittleEndian(b[8..]);
        uint typeLen = BinaryPrimitives.ReadUInt32LittleEndian(b[12..]);
        uint strOff = BinaryPrimitives.ReadUInt32LittleEndian(b[16..]);
        uint strLen = BinaryPrimitives.ReadUInt32LittleEndian(b[20..]);
        long types = (long)headerLength + typeOff;
        long strings = (long)headerLength + strOff;
        if (headerLength < HeaderMinimumBytes || types + typeLen > blob.Length || strings + strLen > blob.Length || strLen == 0)
        {
            error = $"BTF: the header's sections (header {headerLength}, types {typeOff}+{typeLen}, strings {strOff}+{strLen}) do not fit in {blob.Length} bytes";
            return false;
        }

        var offsets = new List<int> { -1 };
        long at = types;
        long end = types + typeLen;
        while (at < end)
        {
            if (offsets.Count >= MaximumTypes)
            {
                error = $"BTF: more than {MaximumTypes} types";
                return false;
            }

            if (end - at < TypeRecordBytes)
            {
                error = $"BTF: type {offsets.Count} at offset {at - types} is cut short";
                return false;
            }

            uint info = BinaryPrimitives.ReadUInt32LittleEndian(b[(int)(at + 4)..]);
            long extra = ExtraBytes(Kind(info), Vlen(info));
            if (extra < 0)
            {
                error = $"BTF: type {offsets.Count} has the unknown kind {Kind(info)}";
                return false;
            }

            if (end - at - TypeRecordBytes < extra)
            {
                error = $"BTF: type {offsets.Count} ({Kind(info)}, {Vlen(info)} entries) runs past the type section";
                return false;
            }

            offsets.Add((int)at);
            at += TypeRecordBytes + extra;
        }

        btf = new Btf(blob, (int)strings, (int)strLen, [.. offsets]);
        error = null;
        return true;
    }

    /// <summary>The id of the structure named <paramref name="name"/> with a body (not a forward declaration).</summary>
    public bool TryFindStruct(string name, out int typeId)
    {
        ArgumentNullException.ThrowIfNull(name);
        byte[] wanted = Encoding.ASCII.GetBytes(name);
        for (int id = 1; id < _offsets.Length; id++)
        {
            if (Kind(Info(id)) == BtfKind.Struct && NameIs(NameOffset(id), wanted))
            {
                typeId = id;
                return true;
            }
        }

        typeId = 0;
        return false;
    }

    /// <summary>The size in bytes of a structure, union, integer or other sized type.</summary>
    public uint SizeOf(int typeId) => IsId(typeId) ? Word(typeId, 8) : 0;

    /// <summary>
    /// Finds member <paramref name="name"/> of a structure or union, looking into anonymous structure and union members
    /// (as C does), to <see cref="MaximumChain"/> levels. The offset is in bytes from the start of the outer type; a
    /// bit-field member is not found (a debugger reads whole bytes).
    /// </summary>
    public bool TryFindMember(int structId, string name, out long byteOffset, out int memberType)
    {
        ArgumentNullException.ThrowIfNull(name);
        return TryFindMember(structId, Encoding.ASCII.GetBytes(name), 0, out byteOffset, out memberType);
    }

    /// <summary>Follows typedef, const, volatile, restrict and type tags to the type they name, to <see cref="MaximumChain"/> links.</summary>
    public bool TryResolve(int typeId, out int resolved)
    {
        resolved = typeId;
        for (int i = 0; i < MaximumChain; i++)
        {
            if (!IsId(resolved))
            {
                return false;
            }

            BtfKind kind = Kind(Info(resolved));
            if (kind is not (BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict or BtfKind.TypeTag))
            {
                return true;
            }

            resolved = (int)Math.Min(Word(resolved, 8), int.MaxValue);
        }

        return false;
    }

    /// <summary>True when <paramref name="typeId"/> resolves to an integer of <paramref name="bytes"/> bytes.</summary>
    public bool IsInteger(int typeId, uint bytes) =>
        TryResolve(typeId, out int t) && Kind(Info(t)) == BtfKind.IntegerType && Word(t, 8) == bytes;

    /// <summary>When <paramref name="typeId"/> resolves to an array of one-byte integers (char[N]), its length.</summary>
    public bool TryCharArray(int typeId, out uint length)
    {
        length = 0;
        if (!TryResolve(typeId, out int t) || Kind(Info(t)) != BtfKind.Array)
        {
            return false;
        }

        // struct btf_array { u32 type; u32 index_type; u32 nelems; } after the record
        int element = (int)Math.Min(Word(t, TypeRecordBytes), int.MaxValue);
        length = Word(t, TypeRecordBytes + 8);
        return IsInteger(element, 1);
    }

    private bool TryFindMember(int typeId, byte[] wanted, int depth, out long byteOffset, out int memberType)
    {
        byteOffset = 0;
        memberType = 0;
        if (depth >= MaximumChain || !TryResolve(typeId, out int id))
        {
            return false;
        }

        uint info = Info(id);
        BtfKind kind = Kind(info);
        if (kind is not (BtfKind.Struct or BtfKind.Union))
        {
            return false;
        }

        bool bitfields = (info & 0x8000_0000) != 0;
        int members = Vlen(info);
        for (int i = 0; i < members; i++)
        {
            // struct btf_member { u32 name_off; u32 type; u32 offset; } (offset: bits; with kind_flag, size << 24 | bits)
            int at = TypeRecordBytes + (i * TypeRecordBytes);
            uint nameOff = Word(id, at);
            int type = (int)Math.Min(Word(id, at + 4), int.MaxValue);
            uint offset = Word(id, at + 8);
            uint bitSize = bitfields ? offset >> 24 : 0;
            uint bits = bitfields ? offset & 0xFF_FFFF : offset;
            if (nameOff == 0)
            {
                if (TryFindMember(type, wanted, depth + 1, out long inner, out memberType) && bits % 8 == 0)
                {
                    byteOffset = (bits / 8) + inner;
                    return true;
                }
            }
            else if (NameIs(nameOff, wanted))
            {
                if (bitSize != 0 || bits % 8 != 0)
                {
                    return false;
                }

                byteOffset = bits / 8;
                memberType = type;
                return true;
            }
        }

        return false;
    }

    private static long ExtraBytes(BtfKind kind, int vlen) => kind switch
    {
        BtfKind.IntegerType or BtfKind.Var or BtfKind.DeclTag => 4,
        BtfKind.PointerType or BtfKind.Fwd or BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict
            or BtfKind.Func or BtfKind.FloatingPoint or BtfKind.TypeTag => 0,
        BtfKind.Array => 12,
        BtfKind.Struct or BtfKind.Union or BtfKind.DataSec or BtfKind.Enum64 => 12L * vlen,
        BtfKind.Enum or BtfKind.FuncProto => 8L * vlen,
        _ => -1,
    };

    private static BtfKind Kind(uint info) => (BtfKind)((info >> 24) & 0x1F);

    private static int Vlen(uint info) => (int)(info & 0xFFFF);

    private bool IsId(int id) => id > 0 && id < _offsets.Length;

    private uint NameOffset(int id) => Word(id, 0);

    private uint Info(int id) => Word(id, 4);

    /// <summary>A u32 at <paramref name="at"/> bytes into type <paramref name="id"/>'s record; TryParse checked it lies in the section.</summary>
    private uint Word(int id, int at) => BinaryPrimitives.ReadUInt32LittleEndian(_blob.AsSpan(_offsets[id] + at, 4));

    private bool NameIs(uint nameOff, byte[] wanted)
    {
        if (nameOff >= (uint)_stringsLength || _stringsLength - (int)nameOff < wanted.Length + 1)
        {
            return false;
        }

        ReadOnlySpan<byte> s = _blob.AsSpan(_strings + (int)nameOff, wanted.Length + 1);
        return s[..wanted.Length].SequenceEqual(wanted) && s[wanted.Length] == 0;
    }
}
