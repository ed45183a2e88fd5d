// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// The one list of the MSRs a guest can read and write: those the CPU engine implements (Unicorn 2.1.1's
/// <c>helper_rdmsr</c>/<c>helper_wrmsr</c>, each measured by <c>MsrTests</c>) and those our platform implements itself.
/// RDMSR/WRMSR of any other MSR raises #GP(0), as on hardware (<see cref="CoreIntercepts"/>); docs/vmx-driver.md lists
/// them.
/// </summary>
internal static class MsrCatalog
{
    /// <summary>IA32_TIME_STAMP_COUNTER: implemented by the platform (the engine reads 0): reads the guest's TSC, a write
    /// sets it (for this core).</summary>
    public const uint TimeStampCounter = 0x10;

    /// <summary>The MSRs the engine implements (reads of some, e.g. MTRRCAP, MCG_CAP, UCODE_REV, PERF_STATUS, SMI_COUNT,
    /// are fixed values whose writes it drops; APIC_BASE reads 0 and drops writes).</summary>
    public static IReadOnlyList<uint> Engine { get; } =
    [
        0x1B, // APIC_BASE
        0x34, // SMI_COUNT
        0x8B, // UCODE_REV
        0xFE, // MTRRCAP
        0x174, 0x175, 0x176, // SYSENTER_CS/ESP/EIP
        0x179, 0x17A, 0x17B, // MCG_CAP, MCG_STATUS, MCG_CTL
        0x198, // PERF_STATUS
        0x1A0, // MISC_ENABLE
        .. Enumerable.Range(0x200, 16).Select(m => (uint)m), // MTRR physical base/mask 0–7
        0x250, 0x258, 0x259, // fixed-range MTRRs
        .. Enumerable.Range(0x268, 8).Select(m => (uint)m),
        0x277, // PAT
        0x2FF, // MTRR_DEF_TYPE
        .. Enumerable.Range(0x400, 40).Select(m => (uint)m), // MC0–MC9 CTL/STATUS/ADDR/MISC
        0xD90, // BNDCFGS
        0xC000_0080, 0xC000_0081, 0xC000_0082, 0xC000_0083, 0xC000_0084, // EFER, STAR, LSTAR, CSTAR, FMASK
        0xC000_0100, 0xC000_0101, 0xC000_0102, 0xC000_0103, // FS_BASE, GS_BASE, KERNEL_GS_BASE, TSC_AUX
        0xC001_0117, // VM_HSAVE_PA
    ];

    /// <summary>The MSRs our platform implements (the engine does not).</summary>
    public static IReadOnlyList<uint> Platform { get; } = [TimeStampCounter];

    private static readonly HashSet<uint> s_all = [.. Engine, .. Platform];

    /// <summary>Every implemented MSR.</summary>
    public static IReadOnlyCollection<uint> All => s_all;

    /// <summary>True when a guest's RDMSR/WRMSR of <paramref name="msr"/> does not raise #GP.</summary>
    public static bool IsImplemented(uint msr) => s_all.Contains(msr);
}
