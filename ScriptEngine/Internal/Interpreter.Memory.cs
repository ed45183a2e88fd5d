// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HyperDbgRemote.Script.Internal;

internal sealed partial class Interpreter
{
    private const ulong PageSize = 0x1000;

    /// <summary>Reads virtual memory: the engine's own regions (<see cref="SyntheticMemory"/>) or the target's.</summary>
    private bool TryReadVirtual(ulong address, Span<byte> destination)
    {
        if (!SyntheticMemory.IsSynthetic(address))
        {
            return _target.TryRead(address, destination);
        }

        ReadOnlySpan<byte> region = SyntheticRegion(address, out ulong offset, writable: false);
        if (offset > (ulong)region.Length || (ulong)destination.Length > (ulong)region.Length - offset)
        {
            return false;
        }

        region.Slice((int)offset, destination.Length).CopyTo(destination);
        return true;
    }

    private bool TryWriteVirtual(ulong address, ReadOnlySpan<byte> source)
    {
        if (!SyntheticMemory.IsSynthetic(address))
        {
            return _target.TryWrite(address, source);
        }

        Span<byte> region = SyntheticRegion(address, out ulong offset, writable: true);
        if (offset > (ulong)region.Length || (ulong)source.Length > (ulong)region.Length - offset)
        {
            return false;
        }

        source.CopyTo(region.Slice((int)offset, source.Length));
        return true;
    }

    /// <summary>The bytes behind a synthetic address; string literals are read-only (empty when writing).</summary>
    private Span<byte> SyntheticRegion(ulong address, out ulong offset, bool writable)
    {
        ulong region = (address - SyntheticMemory.Base) / SyntheticMemory.RegionSize;
        offset = (address - SyntheticMemory.Base) % SyntheticMemory.RegionSize;
        return region switch
        {
            0 => MemoryMarshal.AsBytes(_globals.AsSpan()),
            1 => MemoryMarshal.AsBytes(_state.Stack.AsSpan()),
            2 when !writable => _image.Constants,
            3 => _state.Scratch.AsSpan(0, _state.ScratchUsed),
            _ => [],
        };
    }

    /// <summary>An 8-byte cell the engine owns, for atomic operations (globals and locals, 8-byte aligned).</summary>
    private ref ulong SyntheticCell(ulong address, out bool found)
    {
        if (SyntheticMemory.IsSynthetic(address) && address % sizeof(ulong) == 0)
        {
            if (address >= SyntheticMemory.GlobalsBase && address < SyntheticMemory.GlobalsBase + ((ulong)_globals.Length * sizeof(ulong)))
            {
                found = true;
                return ref _globals[(int)((address - SyntheticMemory.GlobalsBase) / sizeof(ulong))];
            }

            if (address >= SyntheticMemory.StackBase && address < SyntheticMemory.StackBase + ((ulong)_state.Stack.Length * sizeof(ulong)))
            {
                found = true;
                return ref _state.Stack[(int)((address - SyntheticMemory.StackBase) / sizeof(ulong))];
            }
        }

        found = false;
        return ref Unsafe.NullRef<ulong>();
    }

    /// <summary>Atomic compare-exchange on any 8-byte location; false when it cannot be accessed.</summary>
    private bool TryCompareExchange(ulong address, ulong exchange, ulong comparand, out ulong original)
    {
        ref ulong cell = ref SyntheticCell(address, out bool found);
        if (found)
        {
            original = Interlocked.CompareExchange(ref cell, exchange, comparand);
            return true;
        }

        if (SyntheticMemory.IsSynthetic(address))
        {
            // Unaligned or read-only engine memory: not atomic, but still well defined.
            Span<byte> bytes = stackalloc byte[sizeof(ulong)];
            if (!TryReadVirtual(address, bytes))
            {
                original = 0;
                return false;
            }

            original = BitConverter.ToUInt64(bytes);
            if (original == comparand)
            {
                BitConverter.TryWriteBytes(bytes, exchange);
                return TryWriteVirtual(address, bytes);
            }

            return true;
        }

        return _target.TryCompareExchange(address, exchange, comparand, out original);
    }

    private bool TryReadUInt64(ulong address, bool physical, out ulong value)
    {
        Span<byte> bytes = stackalloc byte[sizeof(ulong)];
        bool ok = physical ? _target.TryReadPhysical(address, bytes) : TryReadVirtual(address, bytes);
        value = ok ? BitConverter.ToUInt64(bytes) : 0;
        return ok;
    }

    private bool TryReadSized(ulong address, int size, bool physical, out ulong value)
    {
        Span<byte> bytes = stackalloc byte[sizeof(ulong)];
        bytes.Clear();
        Span<byte> part = bytes[..size];
        bool ok = physical ? _target.TryReadPhysical(address, part) : TryReadVirtual(address, part);
        value = ok ? BitConverter.ToUInt64(bytes) : 0;
        return ok;
    }

    private bool TryWriteSized(ulong address, int size, ulong value, bool physical)
    {
        Span<byte> bytes = stackalloc byte[sizeof(ulong)];
        BitConverter.TryWriteBytes(bytes, value);
        return physical ? _target.TryWritePhysical(address, bytes[..size]) : TryWriteVirtual(address, bytes[..size]);
    }

    /// <summary>Reads as much of [address, address + destination.Length) as fits before the next page boundary,
    /// so a string ending just before an unmapped page is still readable. Returns the bytes read (0 = unreadable).</summary>
    private int ReadChunk(ulong address, Span<byte> destination)
    {
        ulong toPageEnd = PageSize - (address % PageSize);
        int length = (int)Math.Min((ulong)destination.Length, toPageEnd);
        return TryReadVirtual(address, destination[..length]) ? length : 0;
    }
}
