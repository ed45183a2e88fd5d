// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>
/// Makes the engine see every guest write to a page it has translated code from, as the CPU does (self-modifying code,
/// and a kernel patching its own text: alternatives, static keys, static calls).
/// </summary>
/// <remarks>
/// <para>Unicorn 2.1.1 (every 2.1.x) checks a guest write for translated code only while the TLB entry of the written
/// page is marked "not dirty". The first such write invalidates the translations it overlaps and then marks the entry
/// dirty (<c>notdirty_write</c> calls <c>tlb_set_dirty</c>) even though other translations remain on the page; later
/// writes through that entry skip the check until a new block is translated on that virtual page
/// (<c>tb_gen_code</c> calls <c>tlb_reset_dirty_by_vaddr</c>) or the TLB is flushed. So a second patch to a page runs
/// its old code: Debian's Linux kernel, patching its static_cpu_has() sites at boot, sometimes kept a stale jump into
/// its init section and oopsed once that was freed (measured; EngineFactsTests holds the engine's behaviour).</para>
/// <para>QEMU keeps a page "not dirty" while it has code. This does the same with the engine's own functions: both
/// internal calls go through the library's PLT, so their GOT slots (found from the library file's relocations) are
/// pointed at two callbacks. A block translated on a page adds the page to the running core's <see cref="CodePageSet"/>;
/// marking a page of that set dirty is refused, so every write to it keeps taking the engine's checked path. Writes to
/// pages without code are as fast as before. Only engines running inside <see cref="Enter"/> are affected (the
/// callbacks pass everything else through), so bare engines keep the library's behaviour.</para>
/// <para>The same holds across cores, by guest-physical page (<c>CodeWriteGuard.Coherence.cs</c>, the machine's
/// <see cref="Engine.CodeCoherence"/>): a page holding code on any core keeps every core's writes to it checked,
/// through any virtual mapping once its entry was loaded after the page became code, and each checked write is
/// passed on to the other cores holding code there.</para>
/// <para>Where it cannot be installed (not Linux x86-64, a library without these PLT calls) <see cref="Failure"/> says
/// why and the engine's behaviour is unchanged. A write through a virtual mapping whose TLB entry was marked dirty
/// before the page became code on the writing core is not seen by that core's engine until its TLB is flushed (a CR3
/// load); another core's new code on the page flushes it. While a memory hook exists (a monitor event) the engine
/// never marks a page dirty; pages translated only then are not in <see cref="CodePageSet"/>, so after the hook is
/// gone a second write to one of them through that virtual address relies on the physical check alone.</para>
/// </remarks>
internal static unsafe partial class CodeWriteGuard
{
    private const string TranslatedSymbol = "tlb_reset_dirty_by_vaddr_x86_64";
    private const string WrittenSymbol = "tlb_set_dirty_x86_64";
    private const int ProtRead = 1;
    private const int ProtWrite = 2;
    private const int ProtExec = 4;

    private static readonly Lazy<string?> s_failure = new(Install, LazyThreadSafetyMode.ExecutionAndPublication);
    private static delegate* unmanaged[Cdecl]<IntPtr, ulong, ulong, void> s_resetDirtyByVaddr;
    private static delegate* unmanaged[Cdecl]<IntPtr, ulong, void> s_setDirty;

    /// <summary>The code of the core whose engine runs on this thread (set by <see cref="Enter"/>).</summary>
    [ThreadStatic]
    private static EngineCode? s_thread;

    /// <summary>Set by the write check (<see cref="OnCodeWrite"/>) when the written page holds code on some core; taken
    /// by the <c>tlb_set_dirty</c> the engine calls right after it for the same write.</summary>
    [ThreadStatic]
    private static bool s_keepChecking;

    /// <summary>Why the guard is not installed, or null when it is (installing it on first use).</summary>
    public static string? Failure => s_failure.Value;

    /// <summary>Runs the engine of this thread under the guard with <paramref name="code"/> until the scope ends.</summary>
    public static Scope Enter(EngineCode code)
    {
        ArgumentNullException.ThrowIfNull(code);
        _ = s_failure.Value;
        EngineCode? previous = s_thread;
        s_thread = code;
        s_keepChecking = false;
        return new Scope(previous);
    }

    /// <summary>Restores the thread's previous engine.</summary>
    public readonly struct Scope(EngineCode? previous) : IDisposable
    {
        /// <inheritdoc/>
        public void Dispose() => s_thread = previous;
    }

    private static string? Install()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            return "only on Linux x86-64 (the engine's internal calls are reached through its PLT there)";
        }

        try
        {
            IntPtr library = UcLibrary.Handle;
            if (!NativeLibrary.TryGetExport(library, TranslatedSymbol, out IntPtr translated)
                || !NativeLibrary.TryGetExport(library, WrittenSymbol, out IntPtr written))
            {
                return $"the engine library exports no {TranslatedSymbol} or {WrittenSymbol}";
            }

            if (FindMapping(translated) is not (string path, _))
            {
                return $"the engine library's file is not found in /proc/self/maps";
            }

            (IReadOnlyList<ulong> translatedSlots, ulong translatedValue) = ElfJumpSlots.Find(path, TranslatedSymbol);
            (IReadOnlyList<ulong> writtenSlots, ulong writtenValue) = ElfJumpSlots.Find(path, WrittenSymbol);
            ulong loadBase = (ulong)translated - translatedValue;
            if (translatedValue == 0 || writtenValue == 0 || loadBase + writtenValue != (ulong)written)
            {
                return $"{path} does not call {TranslatedSymbol} and {WrittenSymbol} through its PLT";
            }

            ulong[] translatedAt = [.. translatedSlots.Select(s => loadBase + s).Where(a => *(ulong*)a == (ulong)translated)];
            ulong[] writtenAt = [.. writtenSlots.Select(s => loadBase + s).Where(a => *(ulong*)a == (ulong)written)];
            if (translatedAt.Length == 0 || writtenAt.Length == 0)
            {
                return $"{path}'s GOT slots for {TranslatedSymbol} and {WrittenSymbol} are not bound (a lazily bound library)";
            }

            string? coherence = InstallCoherence(path, loadBase);
            if (coherence is not null)
            {
                return coherence;
            }

            s_resetDirtyByVaddr = (delegate* unmanaged[Cdecl]<IntPtr, ulong, ulong, void>)translated;
            s_setDirty = (delegate* unmanaged[Cdecl]<IntPtr, ulong, void>)written;
            foreach (ulong slot in translatedAt)
            {
                WriteSlot(slot, (ulong)(delegate* unmanaged[Cdecl]<IntPtr, ulong, ulong, void>)&OnTranslated);
            }

            foreach (ulong slot in writtenAt)
            {
                WriteSlot(slot, (ulong)(delegate* unmanaged[Cdecl]<IntPtr, ulong, void>)&OnMarkDirty);
            }

            return null;
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or InvalidOperationException or CpuEngineUnavailableException)
        {
            return ex.Message;
        }
    }

    /// <summary>Writes a GOT slot, lifting its page's protection for the write (full RELRO maps it read-only).</summary>
    private static void WriteSlot(ulong slot, ulong value)
    {
        ulong pageSize = (ulong)Environment.SystemPageSize;
        ulong page = slot & ~(pageSize - 1);
        int protection = FindMapping((IntPtr)slot)?.Protection
            ?? throw new InvalidOperationException($"The GOT slot 0x{slot:X} is not in /proc/self/maps.");
        bool writable = (protection & ProtWrite) != 0;
        if (!writable && mprotect((IntPtr)page, (nuint)pageSize, protection | ProtWrite) != 0)
        {
            throw new InvalidOperationException($"mprotect of the engine's GOT page 0x{page:X} failed (errno {Marshal.GetLastPInvokeError()}).");
        }

        Volatile.Write(ref *(ulong*)slot, value);
        if (!writable && mprotect((IntPtr)page, (nuint)pageSize, protection) != 0)
        {
            throw new InvalidOperationException($"mprotect of the engine's GOT page 0x{page:X} failed (errno {Marshal.GetLastPInvokeError()}).");
        }
    }

    /// <summary>The file and protection of the mapping that holds <paramref name="address"/>, from /proc/self/maps.</summary>
    private static (string Path, int Protection)? FindMapping(IntPtr address)
    {
        ulong target = (ulong)address;
        foreach (string line in File.ReadLines("/proc/self/maps"))
        {
            // start-end perms offset dev inode [path]
            string[] fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            int dash = fields[0].IndexOf('-', StringComparison.Ordinal);
            if (fields.Length < 5 || dash < 0
                || !ulong.TryParse(fields[0].AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong start)
                || !ulong.TryParse(fields[0].AsSpan(dash + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong end)
                || target < start || target >= end)
            {
                continue;
            }

            string perms = fields[1];
            int protection = (perms[0] == 'r' ? ProtRead : 0) | (perms[1] == 'w' ? ProtWrite : 0) | (perms[2] == 'x' ? ProtExec : 0);
            return (fields.Length == 6 ? fields[5].Trim() : string.Empty, protection);
        }

        return null;
    }

    /// <summary>The engine translated a block at [start, start + length): its pages hold code.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnTranslated(IntPtr cpu, ulong start, ulong length)
    {
        s_thread?.Pages.AddRange(start, length);
        s_resetDirtyByVaddr(cpu, start, length);
    }

    /// <summary>The engine would stop checking writes to the page of <paramref name="address"/>: not while it holds code,
    /// nor while the physical page just written holds code on any core (<see cref="OnCodeWrite"/>).</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnMarkDirty(IntPtr cpu, ulong address)
    {
        bool keep = s_keepChecking;
        s_keepChecking = false;
        if (keep || s_thread?.Pages.Contains(address) == true)
        {
            return;
        }

        s_setDirty(cpu, address);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int mprotect(IntPtr addr, nuint length, int prot);
}
