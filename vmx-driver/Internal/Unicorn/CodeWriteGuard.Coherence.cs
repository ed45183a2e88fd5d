// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <content>
/// The machine-wide part (<see cref="Engine.CodeCoherence"/>): the engine's page-level code bookkeeping and its write
/// check, seen through three more of its PLT calls. <c>tlb_protect_code</c> (a page got its first translation) and
/// <c>tlb_unprotect_code</c> (its last one was dropped) name the page by the engine's RAM offset.
/// <c>tb_invalidate_phys_page_fast</c> is what a guest write through a checked TLB entry calls, with the RAM offset and
/// length written; it may leave by <c>siglongjmp</c> (the write hit the block being executed), which must not cross a
/// managed frame, so its slot points at a native trampoline that calls <see cref="OnCodeWrite"/> first, then jumps to
/// the engine's function. When that write's page holds code on any core, the <c>tlb_set_dirty</c> that follows is
/// refused (<see cref="OnMarkDirty"/>): later writes through the same entry stay checked, whatever its virtual address
/// (Linux writes its text through a mapping of its own, <c>text_poke</c>'s, loaded afresh for each patch).
/// </content>
internal static unsafe partial class CodeWriteGuard
{
    private const string ProtectSymbol = "tlb_protect_code_x86_64";
    private const string UnprotectSymbol = "tlb_unprotect_code_x86_64";
    private const string WriteCheckSymbol = "tb_invalidate_phys_page_fast_x86_64";
    private const string RamAddressSymbol = "qemu_ram_addr_from_host_x86_64";

    private static delegate* unmanaged[Cdecl]<IntPtr, ulong, void> s_protect;
    private static delegate* unmanaged[Cdecl]<IntPtr, ulong, void> s_unprotect;
    private static delegate* unmanaged[Cdecl]<IntPtr, IntPtr, ulong> s_ramAddress;

    /// <summary>The engine's RAM offset of the host memory at <paramref name="host"/> (mapped into
    /// <paramref name="engine"/>), or null when the guard is not installed or the memory is not the engine's RAM.</summary>
    public static ulong? RamOffsetOf(IntPtr engine, IntPtr host)
    {
        if (s_failure.Value is not null)
        {
            return null;
        }

        ulong ram = s_ramAddress(engine, host);
        return ram == ulong.MaxValue ? null : ram;
    }

    /// <summary>Points the three GOT slots at the callbacks; null on success, else why not (nothing changed then).</summary>
    private static string? InstallCoherence(string path, ulong loadBase)
    {
        IntPtr library = UcLibrary.Handle;
        if (!NativeLibrary.TryGetExport(library, RamAddressSymbol, out IntPtr ramAddress))
        {
            return $"the engine library exports no {RamAddressSymbol}";
        }

        var slots = new List<(ulong Slot, ulong Replacement)>();
        IntPtr[] originals = new IntPtr[3];
        string[] symbols = [ProtectSymbol, UnprotectSymbol, WriteCheckSymbol];
        for (int i = 0; i < symbols.Length; i++)
        {
            if (!NativeLibrary.TryGetExport(library, symbols[i], out originals[i]))
            {
                return $"the engine library exports no {symbols[i]}";
            }

            (IReadOnlyList<ulong> found, ulong value) = ElfJumpSlots.Find(path, symbols[i]);
            ulong[] bound = [.. found.Select(s => loadBase + s).Where(a => *(ulong*)a == (ulong)originals[i])];
            if (value == 0 || loadBase + value != (ulong)originals[i] || bound.Length == 0)
            {
                return $"{path} does not call {symbols[i]} through a bound PLT slot";
            }

            ulong replacement = i switch
            {
                0 => (ulong)(delegate* unmanaged[Cdecl]<IntPtr, ulong, void>)&OnProtect,
                1 => (ulong)(delegate* unmanaged[Cdecl]<IntPtr, ulong, void>)&OnUnprotect,
                _ => (ulong)WriteCheckTrampoline((IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, ulong, int, void>)&OnCodeWrite, originals[i]),
            };
            slots.AddRange(bound.Select(s => (s, replacement)));
        }

        s_ramAddress = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, ulong>)ramAddress;
        s_protect = (delegate* unmanaged[Cdecl]<IntPtr, ulong, void>)originals[0];
        s_unprotect = (delegate* unmanaged[Cdecl]<IntPtr, ulong, void>)originals[1];
        foreach ((ulong slot, ulong replacement) in slots)
        {
            WriteSlot(slot, replacement);
        }

        return null;
    }

    /// <summary>
    /// tb_invalidate_phys_page_fast(uc, pages, start, len, retaddr) (System V): saves the five arguments, calls
    /// <paramref name="check"/>(uc, start, len), restores them and jumps to <paramref name="original"/>, so that a
    /// <c>siglongjmp</c> out of the engine's function unwinds native frames only.
    /// </summary>
    private static IntPtr WriteCheckTrampoline(IntPtr check, IntPtr original)
    {
        var a = new Assembler(64);
        a.push(rdi);
        a.push(rsi);
        a.push(rdx);
        a.push(rcx);
        a.push(r8); // five pushes: RSP is 16-byte aligned at the call
        a.mov(rsi, rdx);
        a.mov(edx, ecx);
        a.mov(rax, (ulong)check);
        a.call(rax);
        a.pop(r8);
        a.pop(rcx);
        a.pop(rdx);
        a.pop(rsi);
        a.pop(rdi);
        a.mov(rax, (ulong)original);
        a.jmp(rax);
        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), 0);
        return NativeBlockThunk.AllocateExecutable(stream.ToArray());
    }

    /// <summary>The engine put its first translation on the page at RAM offset <paramref name="ram"/>.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnProtect(IntPtr uc, ulong ram)
    {
        s_protect(uc, ram);
        if (s_thread is { } code && code.Engine == uc)
        {
            code.CodeAdded(ram);
        }
    }

    /// <summary>The engine dropped the last translation on the page at RAM offset <paramref name="ram"/>.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnUnprotect(IntPtr uc, ulong ram)
    {
        s_unprotect(uc, ram);
        if (s_thread is { } code && code.Engine == uc)
        {
            code.CodeRemoved(ram);
        }
    }

    /// <summary>A guest write of <paramref name="length"/> bytes at RAM offset <paramref name="ram"/> through a checked
    /// entry, before the engine drops its own code there. Engines other than the core's (a sandbox's, run inside a
    /// callback on the core's thread) are not the machine's: their offsets mean other memory.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnCodeWrite(IntPtr uc, ulong ram, int length) =>
        s_keepChecking = s_thread is { } code && code.Engine == uc && code.Written(ram, length);
}
