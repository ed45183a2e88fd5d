// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.InteropServices;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>
/// A UC_HOOK_BLOCK callback in native code, assembled with Iced into an executable page. A managed block hook costs a
/// reverse P/Invoke transition (≈4.4 ns) per executed block; this one costs a few stores, so code that does no I/O is
/// not taxed. It records the block in a <see cref="BlockSlot"/> and tail-calls the managed slow path only when the
/// slot asks for attention or the time slice ends.
/// </summary>
internal static unsafe partial class NativeBlockThunk
{
    private const int PageSize = 4096;
    private static readonly Lazy<IntPtr> s_code = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Address of the thunk (uc_cb_hookcode_t: engine, address, size, user data).</summary>
    public static IntPtr Address => s_code.Value;

    private static IntPtr Create()
    {
        // uc_cb_hookcode_t(uc_engine *uc, uint64_t address, uint32_t size, void *user_data)
        bool windows = OperatingSystem.IsWindows();
        AssemblerRegister64 address = windows ? rdx : rsi;
        AssemblerRegister32 size = windows ? r8d : edx;
        AssemblerRegister64 slot = windows ? r9 : rcx;

        var a = new Iced.Intel.Assembler(64);
        Label slow = a.CreateLabel();
        a.mov(__qword_ptr[slot], address);
        a.mov(__dword_ptr[slot + 8], size);
        a.mov(__dword_ptr[slot + 12], 0);
        a.inc(__qword_ptr[slot + 40]);
        a.dec(__dword_ptr[slot + 16]);
        a.jle(slow);
        a.cmp(__dword_ptr[slot + 20], 0);
        a.jne(slow);
        a.ret();
        a.Label(ref slow);
        a.jmp(__qword_ptr[slot + 24]);

        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), 0);
        byte[] code = stream.ToArray();

        IntPtr page = AllocateExecutable(code);
        return page;
    }

    /// <summary>Copies <paramref name="code"/> into a new page of its own, made executable (and no longer writable).</summary>
    internal static IntPtr AllocateExecutable(byte[] code)
    {
        if (OperatingSystem.IsWindows())
        {
            IntPtr mem = VirtualAlloc(IntPtr.Zero, PageSize, MemCommit | MemReserve, PageExecuteReadWrite);
            if (mem == IntPtr.Zero)
            {
                throw new InvalidOperationException("VirtualAlloc failed for the block thunk.");
            }

            Marshal.Copy(code, 0, mem, code.Length);
            return mem;
        }

        IntPtr page = mmap(IntPtr.Zero, PageSize, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        if (page == new IntPtr(-1))
        {
            throw new InvalidOperationException($"mmap failed for the block thunk (errno {Marshal.GetLastPInvokeError()}).");
        }

        Marshal.Copy(code, 0, page, code.Length);
        if (mprotect(page, PageSize, ProtRead | ProtExec) != 0)
        {
            throw new InvalidOperationException($"mprotect failed for the block thunk (errno {Marshal.GetLastPInvokeError()}).");
        }

        return page;
    }

    private const int ProtRead = 1;
    private const int ProtWrite = 2;
    private const int ProtExec = 4;
    private const int MapPrivate = 2;
    private const int MapAnonymous = 0x20;
    private const uint MemCommit = 0x1000;
    private const uint MemReserve = 0x2000;
    private const uint PageExecuteReadWrite = 0x40;

    [LibraryImport("libc", SetLastError = true)]
    private static partial IntPtr mmap(IntPtr addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int mprotect(IntPtr addr, nuint length, int prot);

    [LibraryImport("kernel32", SetLastError = true)]
    private static partial IntPtr VirtualAlloc(IntPtr address, nuint size, uint allocationType, uint protect);
}
