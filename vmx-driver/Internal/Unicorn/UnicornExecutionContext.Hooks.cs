// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <content>
/// The engine's hooks: the native block thunk (block start and size, time slice, attention), the IN, OUT and CPUID
/// instruction hooks, the interrupt hook and the unmapped-memory hook. Each entry point forwards to the core's
/// callbacks and catches everything: nothing may unwind into the engine. An I/O instruction's location is the block the
/// native thunk recorded and the count of I/O instructions executed in it (the engine's RIP is stale in I/O hooks;
/// REP INS/OUTS start a block per iteration).
/// </content>
internal sealed unsafe partial class UnicornExecutionContext
{
    private const int MemReadUnmapped = 19;
    private const int MemWriteUnmapped = 20;
    private const int MemFetchUnmapped = 21;

    private string? _lastUnmapped;

    private void InstallHooks()
    {
        IntPtr user = (IntPtr)_slot;
        _slot->SlowPath = (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, ulong, uint, IntPtr, void>)&OnBlockSlowPath;
        _engine.AddHook(UcConst.HookBlock, (void*)NativeBlockThunk.Address, (void*)user);
        _engine.AddInstructionHook(UcConst.InsOut, (delegate* unmanaged[Cdecl]<IntPtr, uint, int, uint, IntPtr, void>)&OnOut, (void*)user);
        _engine.AddInstructionHook(UcConst.InsIn, (delegate* unmanaged[Cdecl]<IntPtr, uint, int, IntPtr, uint>)&OnIn, (void*)user);
        _engine.AddInstructionHook(UcConst.InsCpuid, (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, int>)&OnCpuid, (void*)user);
        _engine.AddInstructionHook(UcConst.InsSyscall, (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, void>)&OnSyscall, (void*)user);
        _engine.AddInstructionHook(UcConst.InsSysenter, (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, void>)&OnSysenter, (void*)user);
        _engine.AddHook(UcConst.HookInsnInvalid, (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, byte>)&OnInvalidInstruction, (void*)user);
        _engine.AddHook(UcConst.HookIntr, (delegate* unmanaged[Cdecl]<IntPtr, uint, IntPtr, void>)&OnInterrupt, (void*)user);
        _engine.AddHook(UcConst.HookMemUnmapped, (delegate* unmanaged[Cdecl]<IntPtr, int, ulong, int, long, IntPtr, byte>)&OnUnmapped, (void*)user);
    }

    private static UnicornExecutionContext FromUser(IntPtr user) =>
        Unsafe.As<UnicornExecutionContext>(GCHandle.FromIntPtr(((BlockSlot*)user)->Owner).Target!);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnBlockSlowPath(IntPtr uc, ulong address, uint size, IntPtr user)
    {
        UnicornExecutionContext context = FromUser(user);
#pragma warning disable CA1031 // Interop boundary: nothing may unwind into the engine; the failure is reported instead.
        try
        {
            context._callbacks.OnBlockBoundary(address);
        }
        catch (Exception ex)
        {
            context._callbacks.OnCallbackFailed("the block-boundary callback", ex);
        }
#pragma warning restore CA1031
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnOut(IntPtr uc, uint port, int size, uint value, IntPtr user)
    {
        BlockSlot* slot = (BlockSlot*)user;
        uint index = slot->IoIndex++;
        UnicornExecutionContext context = FromUser(user);
#pragma warning disable CA1031 // Interop boundary: nothing may unwind into the engine; the failure is reported instead.
        try
        {
            context._io.Out((ushort)port, size, value, new IoLocation(slot->BlockStart, slot->BlockSize, index));
        }
        catch (Exception ex)
        {
            context._callbacks.OnCallbackFailed($"OUT to port 0x{port:X4}", ex);
        }
#pragma warning restore CA1031
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static uint OnIn(IntPtr uc, uint port, int size, IntPtr user)
    {
        BlockSlot* slot = (BlockSlot*)user;
        uint index = slot->IoIndex++;
        UnicornExecutionContext context = FromUser(user);
#pragma warning disable CA1031 // Interop boundary: nothing may unwind into the engine; the failure is reported instead.
        try
        {
            return context._io.In((ushort)port, size, new IoLocation(slot->BlockStart, slot->BlockSize, index));
        }
        catch (Exception ex)
        {
            context._callbacks.OnCallbackFailed($"IN from port 0x{port:X4}", ex);
            return uint.MaxValue;
        }
#pragma warning restore CA1031
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnInterrupt(IntPtr uc, uint vector, IntPtr user)
    {
        UnicornExecutionContext context = FromUser(user);
#pragma warning disable CA1031 // Interop boundary: nothing may unwind into the engine; the failure is reported instead.
        try
        {
            if (vector >= InterceptFields.ExitBase)
            {
                context.OnInterceptExit((int)vector - InterceptFields.ExitBase);
            }
            else
            {
                context._callbacks.OnException((int)vector);
            }
        }
        catch (Exception ex)
        {
            context._callbacks.OnCallbackFailed($"interrupt {vector} delivery", ex);
        }
#pragma warning restore CA1031
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnSyscall(IntPtr uc, IntPtr user) => FromUser(user).OnSystemInstruction(SystemInstruction.Syscall);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnSysenter(IntPtr uc, IntPtr user) => FromUser(user).OnSystemInstruction(SystemInstruction.Sysenter);

    /// <summary>
    /// SYSCALL and SYSENTER: the engine only calls the hook, then adds the instruction's length to RIP (measured on
    /// 2.1.1; <c>helper_syscall</c>/<c>helper_sysenter</c>). Both end their translation block, so the instruction ends at
    /// the block's end. In a 64-bit engine RIP is exact in the SYSCALL hook (the engine syncs it first) and the length is
    /// the block's end minus RIP; in SYSENTER's hook RIP is stale and, like SYSCALL in a 16/32-bit engine, the length is
    /// that of the plain two-byte encoding (a prefixed SYSENTER is not measured). After the model ran, RIP is lowered by
    /// the length the engine is about to add.
    /// </summary>
    private void OnSystemInstruction(SystemInstruction instruction)
    {
        const int PlainLength = 2;
#pragma warning disable CA1031 // Interop boundary: nothing may unwind into the engine; the failure is reported instead.
        try
        {
            int length = PlainLength;
            if (instruction == SystemInstruction.Syscall && Is64Bit)
            {
                ulong end = CurrentBlockEnd;
                ulong rip = ReadRegister(GuestRegister.Rip);
                if (end > rip && end - rip <= 15)
                {
                    length = (int)(end - rip);
                }
            }

            _callbacks.OnSystemInstruction(instruction, length);
            ulong next = ReadRegister(GuestRegister.Rip) - (ulong)length;
            WriteRegister(GuestRegister.Rip, Is64Bit ? next : next & uint.MaxValue);
        }
        catch (Exception ex)
        {
            _callbacks.OnCallbackFailed(instruction.ToString().ToUpperInvariant(), ex);
        }
#pragma warning restore CA1031
    }

    /// <summary>An invalid instruction: claiming it (1) makes the engine raise it as #UD through the interrupt hook,
    /// inside the run with RIP at the instruction (measured on 2.1.1), instead of ending the run; a 16-bit engine
    /// cannot be restarted in protected mode, so this is what delivers #UD there.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static byte OnInvalidInstruction(IntPtr uc, IntPtr user) => 1;

    /// <summary>CPUID: the model's answer replaces the engine's (returning 1 makes the engine skip its own CPUID; RIP
    /// moves past the instruction as usual).</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnCpuid(IntPtr uc, IntPtr user)
    {
        UnicornExecutionContext context = FromUser(user);
#pragma warning disable CA1031 // Interop boundary: nothing may unwind into the engine; the failure is reported instead.
        try
        {
            uint leaf = (uint)context.ReadRegister(GuestRegister.Rax);
            uint subleaf = (uint)context.ReadRegister(GuestRegister.Rcx);
            if (context._callbacks.OnCpuid(leaf, subleaf) is CpuidResult result)
            {
                context.WriteRegister(GuestRegister.Rax, result.Eax);
                context.WriteRegister(GuestRegister.Rbx, result.Ebx);
                context.WriteRegister(GuestRegister.Rcx, result.Ecx);
                context.WriteRegister(GuestRegister.Rdx, result.Edx);
            }
        }
        catch (Exception ex)
        {
            context._callbacks.OnCallbackFailed("CPUID", ex);
        }
#pragma warning restore CA1031
        return 1;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static byte OnUnmapped(IntPtr uc, int type, ulong address, int size, long value, IntPtr user)
    {
        string kind = type switch
        {
            MemReadUnmapped => "read",
            MemWriteUnmapped => "write",
            MemFetchUnmapped => "fetch",
            _ => "access",
        };
        FromUser(user)._lastUnmapped = $"unmapped guest-physical {kind} of {size} byte(s) at 0x{address:X}";
        return 0;
    }
}
