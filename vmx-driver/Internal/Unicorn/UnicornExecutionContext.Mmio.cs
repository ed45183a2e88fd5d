// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HyperDbgRemote.VmxDriver.Devices;

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <content>
/// Memory-mapped devices (uc_mmio_map): each region's callbacks get a GC handle to the region's
/// <see cref="MmioRegion"/>, freed when the context is disposed (after the engine, which holds the pointers).
/// </content>
internal sealed unsafe partial class UnicornExecutionContext
{
    private readonly List<GCHandle> _mmioRegions = [];

    /// <inheritdoc/>
    public void MapMmio(ulong address, ulong size, IMmioHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        GCHandle region = GCHandle.Alloc(new MmioRegion(this, address, handler));
        try
        {
            lock (_apiGate)
            {
                _engine.MapMmio(
                    address,
                    size,
                    (delegate* unmanaged[Cdecl]<IntPtr, ulong, uint, IntPtr, ulong>)&OnMmioRead,
                    (delegate* unmanaged[Cdecl]<IntPtr, ulong, uint, ulong, IntPtr, void>)&OnMmioWrite,
                    (void*)GCHandle.ToIntPtr(region));
            }
        }
        catch
        {
            region.Free();
            throw;
        }

        _mmioRegions.Add(region);
    }

    private void FreeMmioRegions()
    {
        foreach (GCHandle region in _mmioRegions)
        {
            region.Free();
        }

        _mmioRegions.Clear();
    }

    private static MmioRegion RegionOf(IntPtr user) => Unsafe.As<MmioRegion>(GCHandle.FromIntPtr(user).Target!);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static ulong OnMmioRead(IntPtr uc, ulong offset, uint size, IntPtr user)
    {
        MmioRegion region = RegionOf(user);
#pragma warning disable CA1031 // Interop boundary: nothing may unwind into the engine; the failure is reported instead.
        try
        {
            return region.Handler.Read(offset, (int)size);
        }
        catch (Exception ex)
        {
            region.Context._callbacks.OnCallbackFailed($"the MMIO read of {size} byte(s) at 0x{region.Address + offset:X}", ex);
            return 0;
        }
#pragma warning restore CA1031
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnMmioWrite(IntPtr uc, ulong offset, uint size, ulong value, IntPtr user)
    {
        MmioRegion region = RegionOf(user);
#pragma warning disable CA1031 // Interop boundary: nothing may unwind into the engine; the failure is reported instead.
        try
        {
            region.Handler.Write(offset, (int)size, value);
        }
        catch (Exception ex)
        {
            region.Context._callbacks.OnCallbackFailed($"the MMIO write of {size} byte(s) at 0x{region.Address + offset:X}", ex);
        }
#pragma warning restore CA1031
    }

    private sealed record MmioRegion(UnicornExecutionContext Context, ulong Address, IMmioHandler Handler);
}
