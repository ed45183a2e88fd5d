// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// What CPUID reports to every guest: the one table of what the CPU engine and our platform really implement
/// (docs/vmx-driver.md, "CPUID"). It starts from what Unicorn 2.1.1's CPU model (QEMU's <c>qemu64</c>, the same in 16-
/// and 64-bit engines) reports, measured, and takes away what is not there: the local APIC (unless the machine has one,
/// <see cref="VmConfiguration.Apic"/>; the engine's APIC base MSR reads 0 and ignores writes), SVM (the VMX model is ours; the engine's SVM is not offered), and the
/// Intel-only cache leaves 2 and 4 of a CPU that says it is AMD. It adds the hypervisor bit (leaf 1 ECX bit 31) and the
/// hypervisor leaf 0x40000000 with the signature "HyperDbgRmt\0", as hypervisors do. SYSCALL is reported and performed
/// (in long mode; <see cref="FastSystemCalls"/>), and so is SEP (SYSENTER/SYSEXIT in 16/32-bit protected mode). Leaves the table does not list
/// read as zeros (AMD's rule for leaves beyond the maximum). Served from the engine's CPUID hook, so the engine's own
/// answer is never seen by the guest.
/// </summary>
internal static class CpuidTable
{
    /// <summary>Leaf 0x40000000: the hypervisor vendor leaf.</summary>
    public const uint HypervisorLeaf = 0x4000_0000;

    /// <summary>The hypervisor signature in EBX, ECX, EDX of <see cref="HypervisorLeaf"/>.</summary>
    public const string HypervisorSignature = "HyperDbgRmt\0";

    /// <summary>Leaf 1 ECX bit 31: running under a hypervisor.</summary>
    public const uint HypervisorPresent = 1u << 31;

    /// <summary>Leaf 1 EDX bit 9 and leaf 0x80000001 EDX bit 9: an on-chip local APIC (not modelled).</summary>
    public const uint Apic = 1u << 9;

    /// <summary>Leaf 1 EDX bit 11: SYSENTER/SYSEXIT (SYSENTER performed by <see cref="FastSystemCalls"/>, SYSEXIT by the engine).</summary>
    public const uint Sep = 1u << 11;

    /// <summary>Leaf 0x80000001 EDX bit 11: SYSCALL/SYSRET (performed in long mode by <see cref="FastSystemCalls"/>).</summary>
    public const uint Syscall = 1u << 11;

    /// <summary>Leaf 0x80000001 ECX bit 2: SVM (not offered).</summary>
    public const uint Svm = 1u << 2;

    // "AuthenticAMD", as the engine's model reports it (EBX, EDX, ECX).
    private const uint VendorEbx = 0x6874_7541, VendorEdx = 0x6974_6E65, VendorEcx = 0x444D_4163;

    private static readonly Dictionary<uint, CpuidResult> s_leaves = new()
    {
        // Basic leaves: the maximum is 1 (the engine's 2 to 0xD are Intel cache leaves or zeros).
        [0x0000_0000] = new(0x0000_0001, VendorEbx, VendorEcx, VendorEdx),

        // Family 6 model 6 stepping 3; CLFLUSH line 64 bytes (EBX bits 31:24, the APIC id, are the core's index);
        // ECX: SSE3, CX16, hypervisor; EDX: qemu64's features (SEP, bit 11, included) without APIC (bit 9).
        [0x0000_0001] = new(0x0000_0663, 0x0000_0800, 0x0000_2001 | HypervisorPresent, 0x078B_FBFD & ~Apic),

        // The hypervisor leaf: the highest hypervisor leaf (itself) and the signature.
        [HypervisorLeaf] = new(HypervisorLeaf, Signature(0), Signature(4), Signature(8)),

        // Extended leaves up to 0x80000008 (the engine's 0x8000000A describes SVM, not offered).
        [0x8000_0000] = new(0x8000_0008, VendorEbx, VendorEcx, VendorEdx),

        // ECX: LAHF/SAHF in 64-bit mode (SVM taken away); EDX: SYSCALL (long mode only), NX, LM, ... without APIC.
        [0x8000_0001] = new(0x0000_0663, 0, 0x0000_0005 & ~Svm, 0x2193_FBFD & ~Apic),

        // Brand string "QEMU Virtual CPU version 2.5+".
        [0x8000_0002] = new(0x554D_4551, 0x7269_5620, 0x6C61_7574, 0x5550_4320),
        [0x8000_0003] = new(0x7265_7620, 0x6E6F_6973, 0x352E_3220, 0x0000_002B),
        [0x8000_0004] = new(0, 0, 0, 0),

        // L1 and L2 cache and TLB descriptions, as the engine's model gives them.
        [0x8000_0005] = new(0x01FF_01FF, 0x01FF_01FF, 0x4002_0140, 0x4002_0140),
        [0x8000_0006] = new(0, 0x4200_4200, 0x0200_8140, 0),
        [0x8000_0007] = new(0, 0, 0, 0),

        // 40 physical and 48 linear address bits (the engine's MAXPHYADDR; the page walker's reserved bits agree).
        [0x8000_0008] = new(0x0000_3028, 0, 0, 0),
    };

    /// <summary>The leaves the table lists, in order (tests and the documentation walk them).</summary>
    public static IEnumerable<uint> Leaves => s_leaves.Keys.Order();

    /// <summary>CPUID for <paramref name="leaf"/> (EAX) and <paramref name="subleaf"/> (ECX; no listed leaf depends on it)
    /// on core <paramref name="coreIndex"/>; with <paramref name="apic"/> (a machine with local APICs,
    /// <see cref="VmConfiguration.Apic"/>) leaves 1 and 0x80000001 report the APIC (EDX bit 9), as qemu64 does.</summary>
    public static CpuidResult Lookup(uint leaf, uint subleaf, int coreIndex, bool apic = false)
    {
        CpuidResult r = TableLookup(leaf, subleaf, coreIndex);
        return apic && leaf is 1 or 0x8000_0001 ? r with { Edx = r.Edx | Apic } : r;
    }

    private static CpuidResult TableLookup(uint leaf, uint subleaf, int coreIndex)
    {
        _ = subleaf;
        if (!s_leaves.TryGetValue(leaf, out CpuidResult result))
        {
            return default;
        }

        return leaf == 1 ? result with { Ebx = result.Ebx | ((uint)(coreIndex & 0xFF) << 24) } : result;
    }

    private static uint Signature(int offset) =>
        HypervisorSignature[offset] | ((uint)HypervisorSignature[offset + 1] << 8) | ((uint)HypervisorSignature[offset + 2] << 16) | ((uint)HypervisorSignature[offset + 3] << 24);
}
