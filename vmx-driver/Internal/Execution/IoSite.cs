// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>One I/O instruction found in a translation block: what the VMCS would report about it.</summary>
internal sealed class IoSite
{
    public required ulong Linear { get; init; }

    public required byte[] Bytes { get; init; }

    public required bool IsIn { get; init; }

    public required bool IsString { get; init; }

    public required bool IsRep { get; init; }

    public required bool IsImmediate { get; init; }

    public required int Size { get; init; }

    /// <summary>Address size of a string form: 16, 32 or 64.</summary>
    public required int AddressSize { get; init; }

    /// <summary>Segment of the memory operand (VMX encoding: 0 ES, 1 CS, 2 SS, 3 DS, 4 FS, 5 GS).</summary>
    public required int Segment { get; init; }

    public required int Bitness { get; init; }

    /// <summary>Host address of the instruction's bytes in guest RAM (zero when not in RAM), for cheap revalidation.</summary>
    public IntPtr Host { get; private set; }

    /// <summary>When the instruction is at most 8 bytes long and 8 bytes can be read at <see cref="Host"/>: its bytes
    /// as a little-endian word and the mask of their positions, so revalidation is one load and one compare.</summary>
    private ulong _pattern;
    private ulong _mask;

    /// <summary>Records where the instruction's bytes live in guest RAM (<paramref name="host8"/>: the same address
    /// when 8 bytes are readable there, else zero).</summary>
    public void SetHost(IntPtr host, IntPtr host8)
    {
        Host = host;
        _mask = 0;
        if (host8 != IntPtr.Zero && Bytes.Length <= sizeof(ulong))
        {
            Span<byte> word = stackalloc byte[sizeof(ulong)];
            word.Clear();
            Bytes.CopyTo(word);
            _pattern = BitConverter.ToUInt64(word);
            _mask = Bytes.Length == sizeof(ulong) ? ulong.MaxValue : (1UL << (8 * Bytes.Length)) - 1;
        }
    }

    /// <summary>True while the instruction's bytes are still where they were decoded (code rewritten in place fails).</summary>
    public unsafe bool StillThere()
    {
        if (_mask != 0)
        {
            return (System.Runtime.CompilerServices.Unsafe.ReadUnaligned<ulong>((void*)Host) & _mask) == _pattern;
        }

        return Host != IntPtr.Zero && new ReadOnlySpan<byte>((void*)Host, Bytes.Length).SequenceEqual(Bytes);
    }
}
