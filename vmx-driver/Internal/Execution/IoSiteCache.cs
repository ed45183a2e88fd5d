// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// Finds the I/O instruction an exit is about from the engine's <see cref="IoLocation"/>: the code at the location is
/// decoded with Iced once and its I/O instructions kept; a cached entry is re-checked against the instruction bytes in
/// the guest RAM it was decoded from, so code rewritten in place is decoded again.
/// </summary>
/// <remarks>A struct kept inside <see cref="IoInstructions"/>, so that an exit's fast path reads no other object than
/// the site (see the remarks there).</remarks>
internal struct IoSiteCache
{
    private const int MaxBlockBytes = 64 * 1024;

    private readonly Vcpu _core;
    private readonly Dictionary<ulong, IoSite[]> _sites = [];

    /// <summary>The location of the last exit: loops exit from the same block again and again.</summary>
    private ulong _lastStart = ulong.MaxValue;
    private IoSite[]? _lastSites;

    public IoSiteCache(Vcpu core)
    {
        _core = core;
    }

    /// <summary>The I/O instruction at <paramref name="location"/>, which must be an IN (or INS) or an OUT (or OUTS)
    /// of <paramref name="size"/> bytes.</summary>
    /// <exception cref="InvalidOperationException">No such instruction is there.</exception>
    public IoSite Resolve(IoLocation location, bool isIn, int size)
    {
        IoSite[]? sites = _lastSites;
        if (location.Start == _lastStart && sites is not null && Matches(sites, location.Index, isIn, size) && sites[location.Index].StillThere())
        {
            return sites[location.Index];
        }

        return ResolveSlow(location, isIn, size);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private IoSite ResolveSlow(IoLocation location, bool isIn, int size)
    {
        ulong start = location.Start;
        uint index = location.Index;
        uint length = Math.Min(location.Length, MaxBlockBytes);
        if (_sites.TryGetValue(start, out IoSite[]? sites) && Matches(sites, index, isIn, size) && sites[index].StillThere())
        {
            _lastStart = start;
            _lastSites = sites;
            return sites[index];
        }

        byte[] code = new byte[Math.Max(length, 16u)];
        int read = _core.ReadVirtual(start, code);
        sites = IoSiteDecoder.DecodeBlock(code.AsSpan(0, read).ToArray(), start, _core.CodeBitness());
        GuestMemory memory = _core.Machine.Memory;
        foreach (IoSite site in sites)
        {
            unsafe
            {
                ulong physical = _core.TryTranslate(site.Linear, out ulong pa) ? pa : ulong.MaxValue;
                site.SetHost((IntPtr)memory.Pointer(physical, (ulong)site.Bytes.Length), (IntPtr)memory.Pointer(physical, sizeof(ulong)));
            }
        }

        _sites[start] = sites;
        _lastStart = start;
        _lastSites = sites;
        if (Matches(sites, index, isIn, size))
        {
            return sites[index];
        }

        // The block did not match (self-modifying code or an engine block boundary we did not predict): take the
        // first I/O instruction of the right kind at or after the index.
        for (int i = (int)Math.Min(index, (uint)sites.Length); i < sites.Length; i++)
        {
            if (sites[i].IsIn == isIn && sites[i].Size == size)
            {
                return sites[i];
            }
        }

        throw new InvalidOperationException(
            $"core {_core.Index}: cannot locate the {(isIn ? "IN" : "OUT")} instruction #{index} of size {size} in the block at 0x{start:X} ({length} bytes).");
    }

    private static bool Matches(IoSite[] sites, uint index, bool isIn, int size) =>
        index < sites.Length && sites[index].IsIn == isIn && sites[index].Size == size;
}
