// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>
/// The host's time-stamp counter, read by RDTSC in a few bytes of native code: the counter the engine's RDTSC gives the
/// guest (QEMU's <c>cpu_get_tsc</c> is <c>cpu_get_host_ticks</c>, RDTSC on an x86-64 host; measured by
/// <c>EngineFactsTests.Rdtsc_ReadsTheHostCounterPlusTheTscOffset</c>), so ticks read here and the guest's TSC are in
/// the same unit. .NET offers no RDTSC of its own.
/// </summary>
internal static unsafe class HostTsc
{
    private static readonly Lazy<IntPtr> s_code = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The host's TSC now.</summary>
    public static ulong Read() => ((delegate* unmanaged<ulong>)s_code.Value)();

    private static IntPtr Create()
    {
        // rdtsc; shl rdx, 32; or rax, rdx; ret
        byte[] code = [0x0F, 0x31, 0x48, 0xC1, 0xE2, 0x20, 0x48, 0x09, 0xD0, 0xC3];
        return NativeBlockThunk.AllocateExecutable(code);
    }
}
