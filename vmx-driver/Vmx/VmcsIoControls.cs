// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>
/// The I/O part of one core's VMCS: the "unconditional I/O exiting" and "use I/O bitmaps" primary processor-based
/// controls and the two 4 KiB I/O bitmaps (SDM Vol. 3C, "I/O-Instruction Execution"; "Instructions That Cause VM Exits
/// Conditionally"). Bitmap A covers ports 0x0000–0x7FFF, B covers 0x8000–0xFFFF; bit n of byte n/8 is port n.
/// </summary>
/// <remarks>Written by the debugger thread, read by the core on every I/O instruction: single-bit updates are atomic
/// byte writes, so a core sees either the old or the new bit.</remarks>
public sealed class VmcsIoControls
{
    /// <summary>Size of each bitmap in bytes.</summary>
    public const int BitmapSize = 4096;

    /// <summary>The highest port covered by bitmap A.</summary>
    public const ushort BitmapALastPort = 0x7FFF;

    private readonly byte[] _bitmaps = new byte[2 * BitmapSize];

    /// <summary>The "use I/O bitmaps" control. When set, "unconditional I/O exiting" is ignored.</summary>
    public bool UseIoBitmaps { get; set; } = true;

    /// <summary>The "unconditional I/O exiting" control.</summary>
    public bool UnconditionalIoExiting { get; set; }

    /// <summary>Bitmap A (ports 0x0000–0x7FFF).</summary>
    public Span<byte> BitmapA => _bitmaps.AsSpan(0, BitmapSize);

    /// <summary>Bitmap B (ports 0x8000–0xFFFF).</summary>
    public Span<byte> BitmapB => _bitmaps.AsSpan(BitmapSize, BitmapSize);

    /// <summary>Sets or clears the bit of one port.</summary>
    public void SetPort(ushort port, bool exit)
    {
        ref byte b = ref _bitmaps[port >> 3];
        byte mask = (byte)(1 << (port & 7));
        b = exit ? (byte)(b | mask) : (byte)(b & ~mask);
    }

    /// <summary>True when the bit of <paramref name="port"/> is set.</summary>
    public bool IsPortSet(ushort port) => (_bitmaps[port >> 3] & (1 << (port & 7))) != 0;

    /// <summary>Sets (0xFF) or clears both bitmaps entirely.</summary>
    public void SetAll(bool exit) => Array.Fill(_bitmaps, exit ? (byte)0xFF : (byte)0);

    /// <summary>
    /// Whether an I/O instruction accessing <paramref name="size"/> bytes at <paramref name="port"/> causes a VM exit:
    /// with bitmaps, when the bit of any byte of the access is set or the access wraps past 0xFFFF; without bitmaps,
    /// exactly when unconditional I/O exiting is on.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public bool ShouldExit(ushort port, int size)
    {
        if (!UseIoBitmaps)
        {
            return UnconditionalIoExiting;
        }

        byte[] bitmaps = _bitmaps;
        if (size == 1)
        {
            return (bitmaps[port >> 3] & (1 << (port & 7))) != 0;
        }

        int last = port + size - 1;
        if (last > ushort.MaxValue)
        {
            return true;
        }

        for (int p = port; p <= last; p++)
        {
            if ((bitmaps[p >> 3] & (1 << (p & 7))) != 0)
            {
                return true;
            }
        }

        return false;
    }
}
