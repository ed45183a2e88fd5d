// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Reflection;
using System.Runtime.InteropServices;

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>
/// The thin P/Invoke layer over Unicorn 2 (libunicorn.so.2 on Linux, unicorn.dll on Windows). Every function returns
/// the raw uc_err; <see cref="UcEngine"/> checks them. Signatures are blittable so calls from hooks cost no marshalling.
/// </summary>
internal static unsafe partial class UcNative
{
    /// <summary>The logical library name; <see cref="UcLibrary"/> finds the file.</summary>
    public const string Library = "unicorn";

    static UcNative()
    {
        NativeLibrary.SetDllImportResolver(typeof(UcNative).Assembly, Resolve);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath) =>
        name == Library ? UcLibrary.Handle : IntPtr.Zero;

    /// <summary>Loads the library (or throws <see cref="CpuEngineUnavailableException"/> saying what to install) and
    /// installs the resolver, before the first call.</summary>
    public static void EnsureLoaded() => _ = UcLibrary.Handle;

    [LibraryImport(Library)]
    public static partial uint uc_version(uint* major, uint* minor);

    [LibraryImport(Library)]
    public static partial int uc_open(int arch, int mode, IntPtr* uc);

    [LibraryImport(Library)]
    public static partial int uc_close(IntPtr uc);

    [LibraryImport(Library)]
    public static partial IntPtr uc_strerror(int code);

    [LibraryImport(Library)]
    public static partial int uc_reg_read(IntPtr uc, int regid, void* value);

    [LibraryImport(Library)]
    public static partial int uc_reg_write(IntPtr uc, int regid, void* value);

    [LibraryImport(Library)]
    public static partial int uc_mem_map_ptr(IntPtr uc, ulong address, nuint size, uint perms, void* ptr);

    /// <summary>
    /// Maps [address, address + size) (page-aligned) as MMIO: every access calls <c>readCallback</c>
    /// (<c>uint64_t (*)(uc_engine*, uint64_t offset, unsigned size, void* user)</c>) or <c>writeCallback</c>
    /// (<c>void (*)(uc_engine*, uint64_t offset, unsigned size, uint64_t value, void* user)</c>), the offset relative to
    /// <c>address</c>. Unicorn 2.0 and later.
    /// </summary>
    [LibraryImport(Library)]
    public static partial int uc_mmio_map(IntPtr uc, ulong address, nuint size, void* readCallback, void* readUser, void* writeCallback, void* writeUser);

    [LibraryImport(Library)]
    public static partial int uc_mem_read(IntPtr uc, ulong address, void* bytes, nuint size);

    [LibraryImport(Library)]
    public static partial int uc_mem_write(IntPtr uc, ulong address, void* bytes, nuint size);

    [LibraryImport(Library)]
    public static partial int uc_emu_start(IntPtr uc, ulong begin, ulong until, ulong timeout, nuint count);

    [LibraryImport(Library)]
    public static partial int uc_emu_stop(IntPtr uc);

    /// <summary>
    /// uc_hook_add is variadic; on x86-64 System V and Windows x64 the variadic tail is passed exactly like prototyped
    /// arguments, so a fixed prototype is correct (see the notes on the binding). This form passes no extra argument.
    /// </summary>
    [LibraryImport(Library, EntryPoint = "uc_hook_add")]
    public static partial int uc_hook_add(IntPtr uc, nuint* hh, int type, void* callback, void* userData, ulong begin, ulong end);

    /// <summary>uc_hook_add for UC_HOOK_INSN: the instruction id is the variadic argument.</summary>
    [LibraryImport(Library, EntryPoint = "uc_hook_add")]
    public static partial int uc_hook_add_insn(IntPtr uc, nuint* hh, int type, void* callback, void* userData, ulong begin, ulong end, int instruction);

    [LibraryImport(Library)]
    public static partial int uc_hook_del(IntPtr uc, nuint hh);

    /// <summary>Allocates a uc_context sized for this engine; free it with <see cref="uc_context_free"/>.</summary>
    [LibraryImport(Library)]
    public static partial int uc_context_alloc(IntPtr uc, IntPtr* context);

    [LibraryImport(Library)]
    public static partial int uc_context_free(IntPtr context);

    [LibraryImport(Library)]
    public static partial int uc_context_save(IntPtr uc, IntPtr context);

    [LibraryImport(Library)]
    public static partial int uc_context_restore(IntPtr uc, IntPtr context);

    /// <summary>The size of a uc_context of this engine: its header and the saved CPU state that follows it.</summary>
    [LibraryImport(Library)]
    public static partial nuint uc_context_size(IntPtr uc);

    /// <summary>uc_ctl without arguments (e.g. UC_CTL_TB_FLUSH).</summary>
    [LibraryImport(Library, EntryPoint = "uc_ctl")]
    public static partial int uc_ctl(IntPtr uc, int control);

    /// <summary>uc_ctl with one int argument (e.g. UC_CTL_UC_USE_EXITS 1).</summary>
    [LibraryImport(Library, EntryPoint = "uc_ctl")]
    public static partial int uc_ctl_int(IntPtr uc, int control, int a);

    /// <summary>uc_ctl with two 64-bit arguments (e.g. UC_CTL_TB_REMOVE_CACHE begin, end).</summary>
    [LibraryImport(Library, EntryPoint = "uc_ctl")]
    public static partial int uc_ctl_u64_u64(IntPtr uc, int control, ulong a, ulong b);
}
