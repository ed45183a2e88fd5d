// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>Constants of unicorn.h and x86.h, checked against Debian 12's libunicorn-dev headers (2.0.1); the same in 2.1.</summary>
internal static class UcConst
{
    public const int ArchX86 = 4;
    public const int Mode16 = 2;
    public const int Mode32 = 4;
    public const int Mode64 = 8;

    public const uint ProtRead = 1;
    public const uint ProtWrite = 2;
    public const uint ProtExec = 4;
    public const uint ProtAll = 7;

    public const int HookIntr = 1 << 0;
    public const int HookInsn = 1 << 1;
    public const int HookCode = 1 << 2;
    public const int HookBlock = 1 << 3;
    public const int HookMemUnmapped = 0x70;

    /// <summary>UC_HOOK_MEM_READ / UC_HOOK_MEM_WRITE: on 2.1.1 the range is checked against the guest-physical address
    /// and the callback receives it; RIP is exact in the callback, which runs before the access (measured).
    /// UC_HOOK_MEM_FETCH (1 &lt;&lt; 12) is never called for instruction fetches (measured).</summary>
    public const int HookMemRead = 1 << 10;
    public const int HookMemWrite = 1 << 11;
    public const int MemRead = 16;
    public const int MemWrite = 17;
    public const int HookInsnInvalid = 1 << 14;

    /// <summary>UC_X86_INS_CPUID: hookable with UC_HOOK_INSN (2.1.1 accepts IN, OUT, SYSCALL, SYSENTER and CPUID only;
    /// RDMSR, WRMSR and SYSRET are refused with UC_ERR_HOOK, measured).</summary>
    public const int InsCpuid = 113;
    public const int InsIn = 218;

    /// <summary>UC_X86_INS_SYSCALL and UC_X86_INS_SYSENTER: the engine calls the hook and adds the instruction's length
    /// to RIP, nothing else (2.1.1's <c>helper_syscall</c>, <c>helper_sysenter</c>).</summary>
    public const int InsSyscall = 699;
    public const int InsSysenter = 700;
    public const int InsOut = 500;

    public const int ErrOk = 0;
    public const int ErrReadUnmapped = 6;
    public const int ErrWriteUnmapped = 7;
    public const int ErrFetchUnmapped = 8;
    public const int ErrInsnInvalid = 10;
    public const int ErrHook = 9;
    public const int ErrException = 21;

    /// <summary>UC_CTL_WRITE(UC_CTL_UC_USE_EXITS, 1): 1 = stop only at the addresses of UC_CTL_UC_EXITS, not at uc_emu_start's <c>until</c>.</summary>
    public const int CtlUseExits = 0x44000004;

    /// <summary>UC_CTL_WRITE(UC_CTL_TB_FLUSH, 0).</summary>
    public const int CtlTbFlush = 0x4000000A;

    /// <summary>UC_CTL_WRITE(UC_CTL_TB_REMOVE_CACHE, 2): drop translated blocks in [begin, end), <c>begin</c> a linear
    /// address that the engine translates through the current paging state.</summary>
    public const int CtlTbRemoveCache = 0x48000009;

    /// <summary>UC_CTL_WRITE(UC_CTL_TLB_FLUSH, 0): drop every cached linear-to-physical translation.</summary>
    public const int CtlTlbFlush = 0x4000000B;
}
