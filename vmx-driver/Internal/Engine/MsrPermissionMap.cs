// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Engine;

/// <summary>
/// Which MSRs' RDMSR and WRMSR are intercepted (<see cref="InstructionIntercepts.Msrs"/>), in AMD's MSR permission map
/// layout (AMD64 APM Vol. 2, "MSR Intercepts"), which the engine reads: two bits per MSR (read, then write) for the three
/// ranges 0–1FFFh, C0000000h–C0001FFFh and C0010000h–C0011FFFh, 2 KiB each. An MSR outside those ranges is always
/// intercepted while any MSR is (the engine's rule, as the APM's), so <see cref="Intercepts"/> says true for it and
/// <see cref="Intercept"/> needs nothing for it. Not thread-safe: build one, then hand it over.
/// </summary>
internal sealed class MsrPermissionMap
{
    /// <summary>Bytes of the map: three 2 KiB ranges.</summary>
    public const int Size = 3 * RangeBytes;

    private const int RangeBytes = 0x800;
    private const uint RangeMsrs = 0x2000;
    private static readonly uint[] s_rangeStarts = [0, 0xC000_0000, 0xC001_0000];
    private readonly byte[] _bits = new byte[Size];

    /// <summary>The map's bytes, as the engine reads them.</summary>
    public ReadOnlySpan<byte> Bytes => _bits;

    /// <summary>True when <paramref name="msr"/> has bits in the map (outside, it is always intercepted).</summary>
    public static bool InMap(uint msr) => BitIndex(msr) >= 0;

    /// <summary>Intercepts RDMSR (<paramref name="read"/>) and/or WRMSR (<paramref name="write"/>) of
    /// <paramref name="msr"/>; false ones are left as they are.</summary>
    public MsrPermissionMap Intercept(uint msr, bool read = true, bool write = true)
    {
        int bit = BitIndex(msr);
        if (bit >= 0)
        {
            if (read)
            {
                _bits[bit / 8] |= (byte)(1 << (bit % 8));
            }

            if (write)
            {
                _bits[(bit + 1) / 8] |= (byte)(1 << ((bit + 1) % 8));
            }
        }

        return this;
    }

    /// <summary>Intercepts RDMSR and WRMSR of every MSR except <paramref name="except"/> (those in the map; the others
    /// are intercepted anyway).</summary>
    public static MsrPermissionMap AllExcept(IEnumerable<uint> except)
    {
        ArgumentNullException.ThrowIfNull(except);
        var map = new MsrPermissionMap();
        map._bits.AsSpan().Fill(0xFF);
        foreach (uint msr in except)
        {
            int bit = BitIndex(msr);
            if (bit >= 0)
            {
                map._bits[bit / 8] &= (byte)~(3 << (bit % 8));
            }
        }

        return map;
    }

    /// <summary>True when RDMSR (or WRMSR, <paramref name="write"/>) of <paramref name="msr"/> is intercepted.</summary>
    public bool Intercepts(uint msr, bool write)
    {
        int bit = BitIndex(msr);
        if (bit < 0)
        {
            return true;
        }

        bit += write ? 1 : 0;
        return (_bits[bit / 8] & (1 << (bit % 8))) != 0;
    }

    /// <summary>A map intercepting what either map intercepts.</summary>
    public MsrPermissionMap Union(MsrPermissionMap other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var union = new MsrPermissionMap();
        for (int i = 0; i < Size; i++)
        {
            union._bits[i] = (byte)(_bits[i] | other._bits[i]);
        }

        return union;
    }

    private static int BitIndex(uint msr)
    {
        for (int range = 0; range < s_rangeStarts.Length; range++)
        {
            uint start = s_rangeStarts[range];
            if (msr >= start && msr - start < RangeMsrs)
            {
                return (range * RangeBytes * 8) + (int)((msr - start) * 2);
            }
        }

        return -1;
    }
}
