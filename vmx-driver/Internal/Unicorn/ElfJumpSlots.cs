// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using System.Text;

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>
/// Reads, from an x86-64 ELF shared library file, where its global offset table holds the address of a function it
/// calls through its PLT: the <c>r_offset</c> of every <c>R_X86_64_JUMP_SLOT</c> and <c>R_X86_64_GLOB_DAT</c>
/// relocation naming that symbol, and the symbol's own value, both relative to the library's load base. Only the section
/// headers, the relocation sections and the dynamic symbol table are read (a stripped library keeps all three).
/// </summary>
internal static class ElfJumpSlots
{
    private const int SectionHeaderSize = 64;
    private const int RelaSize = 24;
    private const int SymbolSize = 24;
    private const uint ShtRela = 4;
    private const uint ShtDynsym = 11;
    private const uint RelocGlobDat = 6;
    private const uint RelocJumpSlot = 7;
    private const ushort MachineX8664 = 62;

    /// <summary>The GOT slots that relocations for <paramref name="symbol"/> fill and the symbol's value (its address),
    /// as offsets from the load base; the value is 0 when no relocation names the symbol.</summary>
    /// <exception cref="InvalidDataException">The file is not a 64-bit little-endian x86-64 ELF file or is malformed.</exception>
    public static (IReadOnlyList<ulong> Slots, ulong Value) Find(string path, string symbol)
    {
        using FileStream file = File.OpenRead(path);
        Span<byte> header = stackalloc byte[64];
        ReadAt(file, 0, header);
        if (!header[..4].SequenceEqual((ReadOnlySpan<byte>)[0x7F, (byte)'E', (byte)'L', (byte)'F']) || header[4] != 2 || header[5] != 1
            || BinaryPrimitives.ReadUInt16LittleEndian(header[0x12..]) != MachineX8664)
        {
            throw new InvalidDataException($"{path} is not a 64-bit little-endian x86-64 ELF file.");
        }

        ulong sectionTable = BinaryPrimitives.ReadUInt64LittleEndian(header[0x28..]);
        int entrySize = BinaryPrimitives.ReadUInt16LittleEndian(header[0x3A..]);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(header[0x3C..]);
        if (entrySize != SectionHeaderSize || count == 0)
        {
            throw new InvalidDataException($"{path} has no usable section headers.");
        }

        byte[] sections = new byte[count * SectionHeaderSize];
        ReadAt(file, (long)sectionTable, sections);
        Section At(int index) => new(sections.AsSpan(index * SectionHeaderSize, SectionHeaderSize));

        var slots = new List<ulong>();
        ulong value = 0;
        for (int i = 0; i < count; i++)
        {
            Section rela = At(i);
            if (rela.Type != ShtRela || rela.Link >= count || At((int)rela.Link).Type != ShtDynsym)
            {
                continue;
            }

            Section dynsym = At((int)rela.Link);
            Section strings = At((int)dynsym.Link);
            byte[] relocations = Read(file, rela);
            byte[] symbols = Read(file, dynsym);
            byte[] names = Read(file, strings);
            for (int r = 0; r + RelaSize <= relocations.Length; r += RelaSize)
            {
                ulong info = BinaryPrimitives.ReadUInt64LittleEndian(relocations.AsSpan(r + 8));
                uint type = (uint)info;
                int index = (int)(info >> 32);
                if ((type != RelocJumpSlot && type != RelocGlobDat) || (index * SymbolSize) + SymbolSize > symbols.Length)
                {
                    continue;
                }

                int name = (int)BinaryPrimitives.ReadUInt32LittleEndian(symbols.AsSpan(index * SymbolSize));
                if (NameAt(names, name) == symbol)
                {
                    slots.Add(BinaryPrimitives.ReadUInt64LittleEndian(relocations.AsSpan(r)));
                    value = BinaryPrimitives.ReadUInt64LittleEndian(symbols.AsSpan((index * SymbolSize) + 8));
                }
            }
        }

        return (slots, value);
    }

    private static string NameAt(byte[] names, int offset)
    {
        if (offset < 0 || offset >= names.Length)
        {
            return string.Empty;
        }

        int end = Array.IndexOf(names, (byte)0, offset);
        return Encoding.ASCII.GetString(names, offset, (end < 0 ? names.Length : end) - offset);
    }

    private static byte[] Read(FileStream file, Section section)
    {
        const ulong Limit = 64 * 1024 * 1024;
        if (section.Size > Limit || section.Offset + section.Size > (ulong)file.Length)
        {
            throw new InvalidDataException($"{file.Name}: a section lies outside the file.");
        }

        byte[] bytes = new byte[section.Size];
        ReadAt(file, (long)section.Offset, bytes);
        return bytes;
    }

    private static void ReadAt(FileStream file, long offset, Span<byte> buffer)
    {
        file.Position = offset;
        file.ReadExactly(buffer);
    }

    private readonly ref struct Section(ReadOnlySpan<byte> header)
    {
        public uint Type { get; } = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);

        public ulong Offset { get; } = BinaryPrimitives.ReadUInt64LittleEndian(header[0x18..]);

        public ulong Size { get; } = BinaryPrimitives.ReadUInt64LittleEndian(header[0x20..]);

        public uint Link { get; } = BinaryPrimitives.ReadUInt32LittleEndian(header[0x28..]);
    }
}
