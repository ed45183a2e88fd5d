// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HyperDbgRemote.VmxDriver;

/// <summary>
/// Guest-physical memory: RAM from address 0 plus extra regions (e.g. the BIOS alias below 4 GiB). The same host
/// memory is mapped into every core's engine. Reads and writes of unmapped addresses are results, not exceptions.
/// </summary>
public sealed unsafe class GuestMemory : IDisposable
{
    private readonly List<GuestMemoryRegion> _regions = [];
    private bool _disposed;
    private long _writeCount;

    /// <summary>Writes made through this API so far (not guest stores): lets the exit path skip re-reading memory.</summary>
    public long WriteCount => Volatile.Read(ref _writeCount);

    /// <summary>Allocates zeroed RAM of <paramref name="ramSize"/> bytes (a multiple of 4 KiB).</summary>
    public GuestMemory(ulong ramSize)
    {
        if (ramSize == 0 || ramSize % PageSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ramSize), ramSize, "RAM size must be a non-zero multiple of 4 KiB.");
        }

        RamSize = ramSize;
        AddRegion(0, ramSize, writable: true, "ram");
    }

    /// <summary>The page size of mappings.</summary>
    public const ulong PageSize = 4096;

    /// <summary>Size of RAM (mapped at guest-physical 0).</summary>
    public ulong RamSize { get; }

    /// <summary>Every mapped region, RAM first.</summary>
    public IReadOnlyList<GuestMemoryRegion> Regions => _regions;

    /// <summary>Maps a new zeroed region; it must not overlap another one.</summary>
    public GuestMemoryRegion AddRegion(ulong address, ulong size, bool writable, string name)
    {
        if (size == 0 || size % PageSize != 0 || address % PageSize != 0)
        {
            throw new ArgumentException($"Region '{name}' must be page aligned and a non-zero multiple of 4 KiB.", nameof(size));
        }

        foreach (GuestMemoryRegion r in _regions)
        {
            if (address < r.Address + r.Size && r.Address < address + size)
            {
                throw new ArgumentException($"Region '{name}' at 0x{address:X} overlaps region '{r.Name}'.", nameof(address));
            }
        }

        void* memory = NativeMemory.AlignedAlloc((nuint)size, (nuint)PageSize);
        NativeMemory.Clear(memory, (nuint)size);
        var region = new GuestMemoryRegion(address, size, writable, name, (IntPtr)memory);
        _regions.Add(region);
        return region;
    }

    /// <summary>Host pointer for a guest-physical range that lies within one region, or null.</summary>
    internal byte* Pointer(ulong address, ulong length)
    {
        foreach (GuestMemoryRegion r in _regions)
        {
            if (address >= r.Address && address - r.Address + length <= r.Size)
            {
                return (byte*)r.Host + (address - r.Address);
            }
        }

        return null;
    }

    /// <summary>Reads up to <c>destination.Length</c> bytes; returns how many were readable (stops at the first hole).</summary>
    public int Read(ulong address, Span<byte> destination)
    {
        int done = 0;
        while (done < destination.Length)
        {
            ulong a = address + (ulong)done;
            GuestMemoryRegion? r = Find(a);
            if (r is null)
            {
                break;
            }

            int n = (int)Math.Min((ulong)(destination.Length - done), r.Address + r.Size - a);
            new ReadOnlySpan<byte>((byte*)r.Host + (a - r.Address), n).CopyTo(destination[done..]);
            done += n;
        }

        return done;
    }

    /// <summary>Writes up to <c>source.Length</c> bytes; returns how many were written (stops at the first hole).</summary>
    /// <remarks>Writes to read-only regions (ROM) are refused like holes.</remarks>
    public int Write(ulong address, ReadOnlySpan<byte> source)
    {
        _writeCount++;
        int done = 0;
        while (done < source.Length)
        {
            ulong a = address + (ulong)done;
            GuestMemoryRegion? r = Find(a);
            if (r is null || !r.Writable)
            {
                break;
            }

            int n = (int)Math.Min((ulong)(source.Length - done), r.Address + r.Size - a);
            source.Slice(done, n).CopyTo(new Span<byte>((byte*)r.Host + (a - r.Address), n));
            done += n;
        }

        return done;
    }

    /// <summary>Reads a value; false when any byte is unmapped.</summary>
    public bool TryRead<T>(ulong address, out T value)
        where T : unmanaged
    {
        T v = default;
        bool ok = Read(address, MemoryMarshal.AsBytes(new Span<T>(ref v))) == sizeof(T);
        value = ok ? v : default;
        return ok;
    }

    /// <summary>Writes a value; false when any byte is unmapped or read-only.</summary>
    public bool TryWrite<T>(ulong address, T value)
        where T : unmanaged => Write(address, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(ref value))) == sizeof(T);

    /// <summary>Loads an image into memory, bypassing write protection (ROM contents).</summary>
    public void Load(ulong address, ReadOnlySpan<byte> image)
    {
        int done = 0;
        while (done < image.Length)
        {
            ulong a = address + (ulong)done;
            GuestMemoryRegion r = Find(a) ?? throw new ArgumentOutOfRangeException(nameof(address), $"Guest-physical address 0x{a:X} is not mapped.");
            int n = (int)Math.Min((ulong)(image.Length - done), r.Address + r.Size - a);
            image.Slice(done, n).CopyTo(new Span<byte>((byte*)r.Host + (a - r.Address), n));
            done += n;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private GuestMemoryRegion? Find(ulong address)
    {
        foreach (GuestMemoryRegion r in _regions)
        {
            if (address - r.Address < r.Size)
            {
                return r;
            }
        }

        return null;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (GuestMemoryRegion r in _regions)
        {
            NativeMemory.AlignedFree((void*)r.Host);
        }
    }
}
