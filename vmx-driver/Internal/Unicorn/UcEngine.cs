// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>One Unicorn engine instance in a SafeHandle. Every uc_err is checked and turned into a <see cref="UnicornException"/>.</summary>
internal sealed unsafe class UcEngine : SafeHandleZeroOrMinusOneIsInvalid
{
    public UcEngine()
        : base(ownsHandle: true)
    {
    }

    /// <summary>The engine mode (UC_MODE_16/32/64) it was opened in.</summary>
    public int Mode { get; private set; }

    /// <summary>
    /// Where Unicorn keeps the mode its register API and uc_emu_start's start address follow: <c>struct uc_struct</c>
    /// begins <c>{ uc_arch arch; uc_mode mode; ... }</c> (include/uc_priv.h, 2.0 and 2.1), and the engine handle is that
    /// struct. Checked at open (<see cref="CanSwitchApiMode"/>): the arch and mode fields must hold what uc_open was given.
    /// </summary>
    private const int ApiModeOffset = 4;

    /// <summary>True when the handle's layout was recognised at open, so <see cref="SetApiMode"/> may be used.</summary>
    public bool CanSwitchApiMode { get; private set; }

    /// <summary>The mode the register API follows now (<see cref="Mode"/> unless switched).</summary>
    public int ApiMode => CanSwitchApiMode ? *(int*)(handle + ApiModeOffset) : Mode;

    /// <summary>
    /// Makes the register API (which ids are accepted, how a segment register write loads the segment) and
    /// uc_emu_start's start address (<c>x86_set_pc</c>: CS × 16 is subtracted in 16-bit mode) follow
    /// <paramref name="mode"/>. Execution does not depend on it: the engine decodes by the CPU's own state (CR0.PE,
    /// EFER.LMA, CS.L), so a core opened in real mode runs long-mode code, and this lets its registers be read and
    /// written at their 64-bit width there.
    /// </summary>
    public void SetApiMode(int mode)
    {
        if (!CanSwitchApiMode)
        {
            throw new InvalidOperationException("The CPU engine's handle layout was not recognised: its register mode cannot be switched.");
        }

        *(int*)(handle + ApiModeOffset) = mode;
    }

    /// <summary>The raw engine pointer, for hooks (which receive it anyway) and hot paths.</summary>
    public IntPtr Raw => handle;

    /// <summary>Opens an x86 engine in the given mode.</summary>
    /// <exception cref="CpuEngineUnavailableException">No Unicorn 2.1 or later is installed; the message says what to install.</exception>
    public static UcEngine Open(int mode)
    {
        UcNative.EnsureLoaded();
        IntPtr raw;
        Check(UcNative.uc_open(UcConst.ArchX86, mode, &raw), "uc_open");
        var engine = new UcEngine { Mode = mode, CanSwitchApiMode = *(int*)raw == UcConst.ArchX86 && *(int*)(raw + ApiModeOffset) == mode };
        engine.SetHandle(raw);
        return engine;
    }

    /// <summary>The library version as (major, minor).</summary>
    public static (uint Major, uint Minor) Version()
    {
        UcNative.EnsureLoaded();
        uint major, minor;
        _ = UcNative.uc_version(&major, &minor);
        return (major, minor);
    }

    /// <summary>Throws a <see cref="UnicornException"/> carrying uc_strerror's text unless <paramref name="err"/> is UC_ERR_OK.</summary>
    public static void Check(int err, string operation)
    {
        if (err != UcConst.ErrOk)
        {
            ThrowError(err, operation);
        }
    }

    /// <summary>uc_strerror's text for an error code.</summary>
    public static string ErrorText(int err) => Marshal.PtrToStringUTF8(UcNative.uc_strerror(err)) ?? "unknown error";

    private static void ThrowError(int err, string operation) => throw new UnicornException(operation, err, ErrorText(err));

    public ulong ReadRegister(int id)
    {
        ulong value = 0;
        Check(UcNative.uc_reg_read(handle, id, &value), "uc_reg_read");
        return value;
    }

    public void WriteRegister(int id, ulong value) => Check(UcNative.uc_reg_write(handle, id, &value), "uc_reg_write");

    public void MapPointer(ulong address, ulong size, uint perms, void* memory) =>
        Check(UcNative.uc_mem_map_ptr(handle, address, (nuint)size, perms, memory), "uc_mem_map_ptr");

    public void MapMmio(ulong address, ulong size, void* readCallback, void* writeCallback, void* user) =>
        Check(UcNative.uc_mmio_map(handle, address, (nuint)size, readCallback, user, writeCallback, user), "uc_mmio_map");

    public nuint AddHook(int type, void* callback, void* userData, ulong begin = 1, ulong end = 0)
    {
        nuint hook;
        Check(UcNative.uc_hook_add(handle, &hook, type, callback, userData, begin, end), "uc_hook_add");
        return hook;
    }

    public nuint AddInstructionHook(int instruction, void* callback, void* userData)
    {
        nuint hook;
        Check(UcNative.uc_hook_add_insn(handle, &hook, UcConst.HookInsn, callback, userData, 1, 0, instruction), "uc_hook_add");
        return hook;
    }

    /// <summary>
    /// Writes guest-physical memory through the engine, which also invalidates translated code for those pages (a
    /// write through a host pointer would leave stale translations).
    /// </summary>
    public void WriteMemory(ulong address, ReadOnlySpan<byte> bytes)
    {
        fixed (byte* p = bytes)
        {
            Check(UcNative.uc_mem_write(handle, address, p, (nuint)bytes.Length), "uc_mem_write");
        }
    }

    public void DeleteHook(nuint hook) => Check(UcNative.uc_hook_del(handle, hook), "uc_hook_del");

    /// <summary>
    /// Drops code translated from the linear range [begin, end). The engine translates <paramref name="begin"/> through
    /// the current paging state and drops that physical range; an unmapped <paramref name="begin"/> drops nothing and, on
    /// 2.1, overwrites CR2 (the walk raises a page fault inside the engine). For a physical range use
    /// <see cref="RemovePhysicalTranslations(ulong, ulong, UcContext)"/>.
    /// </summary>
    public void RemoveTranslations(ulong begin, ulong end) =>
        Check(UcNative.uc_ctl_u64_u64(handle, UcConst.CtlTbRemoveCache, begin, end), "uc_ctl(TB_REMOVE_CACHE)");

    /// <summary>
    /// Drops code translated from the guest-physical range [begin, end), whatever the guest's paging: with paging on,
    /// the CPU state is saved into <paramref name="scratch"/>, CR0.PG cleared so that linear = physical, the range
    /// dropped, the state restored, and the TLB flushed (the lookup left identity translations in it, which the guest's
    /// own tables may not have). Measured on 2.1.1, also inside a hook. The guest sees no change of state.
    /// </summary>
    public void RemovePhysicalTranslations(ulong begin, ulong end, UcContext scratch) => RemovePhysicalTranslations([(begin, end)], scratch);

    /// <summary>Drops code translated from each guest-physical range of <paramref name="ranges"/>, as
    /// <see cref="RemovePhysicalTranslations(ulong, ulong, UcContext)"/> does, with one lift of paging for all.</summary>
    public void RemovePhysicalTranslations(IReadOnlyList<(ulong Begin, ulong End)> ranges, UcContext scratch)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        ArgumentNullException.ThrowIfNull(scratch);
        ulong cr0 = ReadRegister(UcReg.Cr0);
        if ((cr0 & Cr0Pg) == 0)
        {
            foreach ((ulong begin, ulong end) in ranges)
            {
                RemoveTranslations(begin, end);
            }

            return;
        }

        scratch.Save(this);
        try
        {
            WriteRegister(UcReg.Cr0, cr0 & ~Cr0Pg);
            foreach ((ulong begin, ulong end) in ranges)
            {
                RemoveTranslations(begin, end);
            }
        }
        finally
        {
            scratch.Restore(this);
            Check(UcNative.uc_ctl(handle, UcConst.CtlTlbFlush), "uc_ctl(TLB_FLUSH)");
        }
    }

    private const ulong Cr0Pg = 1UL << 31;

    /// <summary>Drops every cached linear-to-physical translation: memory hooks added later are seen only by accesses
    /// that miss the engine's TLB (measured on 2.1.1).</summary>
    public void FlushTlb() => Check(UcNative.uc_ctl(handle, UcConst.CtlTlbFlush), "uc_ctl(TLB_FLUSH)");

    public void FlushTranslationCache() => Check(UcNative.uc_ctl(handle, UcConst.CtlTbFlush), "uc_ctl(TB_FLUSH)");

    /// <summary>
    /// Makes <see cref="Start"/> stop at no address at all (an empty UC_CTL_UC_EXITS set instead of uc_emu_start's
    /// <c>until</c>). With an <c>until</c> address, Unicorn 2.1 translates <c>until - 1</c> through the guest's page tables
    /// when the run ends, to drop the code translated there; when no entry maps it, that walk raises a page fault inside
    /// the engine, which overwrites the guest's CR2 (measured on 2.1.1: CR2 became 0xFFFFFFFFFFFFFFFE after every run
    /// with <c>until</c> = 0xFFFFFFFFFFFFFFFF).
    /// </summary>
    public void StopAtNoAddress() => Check(UcNative.uc_ctl_int(handle, UcConst.CtlUseExits, 1), "uc_ctl(UC_CTL_UC_USE_EXITS)");

    /// <summary>Runs until HLT, a stop request or an error; returns the raw uc_err (errors end the run and are reported by
    /// the caller). Without <see cref="StopAtNoAddress"/>, the run also ends at the last address of the address space.</summary>
    public int Start(ulong begin) => UcNative.uc_emu_start(handle, begin, ulong.MaxValue, 0, 0);

    public void Stop() => Check(UcNative.uc_emu_stop(handle), "uc_emu_stop");

    protected override bool ReleaseHandle() => UcNative.uc_close(handle) == UcConst.ErrOk;
}
