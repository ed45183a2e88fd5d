// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>
/// The virtual pages one core's engine has translated code from: a sparse bitmap (a 4 KiB leaf of bits per 128 MiB of
/// address space that holds code), so a guest with code scattered over the whole address space costs a few leaves. A
/// page stays in the set once added (its translations may be gone; keeping it costs only the slower writes to it).
/// Used on the core's own thread only.
/// </summary>
internal sealed class CodePageSet
{
    private const int PageShift = 12;
    private const int LeafShift = 15;
    private const ulong LeafMask = (1UL << LeafShift) - 1;
    private readonly Dictionary<ulong, ulong[]> _leaves = [];
    private ulong _lastKey = ulong.MaxValue;
    private ulong[]? _lastLeaf;

    /// <summary>Pages in the set.</summary>
    public long Count { get; private set; }

    /// <summary>Adds every page that [<paramref name="start"/>, <paramref name="start"/> + <paramref name="length"/>)
    /// touches (at least the page of <paramref name="start"/>).</summary>
    public void AddRange(ulong start, ulong length)
    {
        ulong first = start >> PageShift;
        ulong last = length == 0 ? first : (start + length - 1) >> PageShift;
        if (last < first || last - first > 16)
        {
            last = first; // a translation block spans at most two pages: anything else is not from the engine
        }

        for (ulong page = first; page <= last; page++)
        {
            ulong[] leaf = Leaf(page >> LeafShift, create: true)!;
            ulong bit = 1UL << (int)(page & 63);
            ref ulong word = ref leaf[(page & LeafMask) >> 6];
            if ((word & bit) == 0)
            {
                word |= bit;
                Count++;
            }
        }
    }

    /// <summary>True when the page holding <paramref name="address"/> is in the set.</summary>
    public bool Contains(ulong address)
    {
        ulong page = address >> PageShift;
        ulong[]? leaf = Leaf(page >> LeafShift, create: false);
        return leaf is not null && (leaf[(page & LeafMask) >> 6] & (1UL << (int)(page & 63))) != 0;
    }

    private ulong[]? Leaf(ulong key, bool create)
    {
        if (key == _lastKey)
        {
            return _lastLeaf;
        }

        if (!_leaves.TryGetValue(key, out ulong[]? leaf))
        {
            if (!create)
            {
                return null;
            }

            leaf = new ulong[(1 << LeafShift) / 64];
            _leaves.Add(key, leaf);
        }

        _lastKey = key;
        _lastLeaf = leaf;
        return leaf;
    }
}
