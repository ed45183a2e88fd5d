// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <content>
/// Instruction hooks for code breakpoints and single-stepping: one UC_HOOK_CODE per breakpoint address, bounded to that
/// one address (Unicorn compiles a code hook's call only into translated code inside its range, so code elsewhere
/// runs as fast as without it), and one unbounded UC_HOOK_CODE while the core single-steps. Unicorn checks the hook
/// ranges when it translates, so every change drops the translated code (a hook added after a block was translated is
/// not called there). Unicorn syncs RIP before a code hook and checks for an exit request right after it,
/// so a RIP write in the hook restarts there before the instruction executes.
/// </content>
internal sealed unsafe partial class UnicornExecutionContext
{
    private readonly Dictionary<ulong, nuint> _instructionHooks = [];
    private nuint _stepHook;
    private readonly List<(ulong Start, ulong Size)> _mapped = [];
    private readonly List<nuint> _monitorHooks = [];
    private (ulong Start, ulong End)[] _executeRanges = [];

    /// <inheritdoc/>
    public void SetInstructionHooks(IReadOnlyCollection<ulong> addresses, bool everyInstruction)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var callback = (delegate* unmanaged[Cdecl]<IntPtr, ulong, uint, IntPtr, void>)&OnInstructionHook;
        // While stepping, the one unbounded hook calls back before every instruction, breakpoints included: a bounded
        // hook as well would call back twice for the same instruction.
        // An address inside an execute monitor's range is called back by that range's hook already.
        IReadOnlyCollection<ulong> bounded = everyInstruction ? [] : [.. addresses.Where(a => !_executeRanges.Any(r => a >= r.Start && a <= r.End))];
        bool changed = false;
        foreach (ulong old in _instructionHooks.Keys.Where(a => !bounded.Contains(a)).ToList())
        {
            _engine.DeleteHook(_instructionHooks[old]);
            _instructionHooks.Remove(old);
            changed = true;
        }

        foreach (ulong address in bounded)
        {
            if (!_instructionHooks.ContainsKey(address))
            {
                _instructionHooks[address] = _engine.AddHook(UcConst.HookCode, callback, _slot, address, address);
                changed = true;
            }
        }

        if (everyInstruction != (_stepHook != 0))
        {
            if (everyInstruction)
            {
                _stepHook = _engine.AddHook(UcConst.HookCode, callback, _slot);
            }
            else
            {
                _engine.DeleteHook(_stepHook);
                _stepHook = 0;
            }

            changed = true;
        }

        if (changed)
        {
            DropTranslations();
        }
    }

    /// <inheritdoc/>
    public void SetMonitorHooks(IReadOnlyList<(ulong Start, ulong End, MemoryAccessKinds Access)> data, IReadOnlyList<(ulong Start, ulong End)> execute)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(execute);
        foreach (nuint hook in _monitorHooks)
        {
            _engine.DeleteHook(hook);
        }

        _monitorHooks.Clear();
        var memory = (delegate* unmanaged[Cdecl]<IntPtr, int, ulong, int, long, IntPtr, void>)&OnMemoryHook;
        foreach ((ulong start, ulong end, MemoryAccessKinds access) in data)
        {
            int type = ((access & MemoryAccessKinds.Read) != 0 ? UcConst.HookMemRead : 0) | ((access & MemoryAccessKinds.Write) != 0 ? UcConst.HookMemWrite : 0);
            if (type != 0)
            {
                _monitorHooks.Add(_engine.AddHook(type, memory, _slot, start, end));
            }
        }

        var code = (delegate* unmanaged[Cdecl]<IntPtr, ulong, uint, IntPtr, void>)&OnInstructionHook;
        foreach ((ulong start, ulong end) in execute)
        {
            _monitorHooks.Add(_engine.AddHook(UcConst.HookCode, code, _slot, start, end));
        }

        _executeRanges = [.. execute];
        _engine.FlushTlb();
        DropTranslations();
    }

    private void DropTranslations()
    {
        // Invalidate rather than flush: a flush (UC_CTL_TB_FLUSH) from a callback frees the block that is running
        // and crashed the engine (measured on 2.1.1); invalidating every mapped physical range unlinks each block
        // as self-modifying code does, and is safe inside a callback.
        lock (_apiGate)
        {
            foreach ((ulong start, ulong size) in _mapped)
            {
                _engine.RemovePhysicalTranslations(start, start + size, _scratch);
            }
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnMemoryHook(IntPtr uc, int type, ulong address, int size, long value, IntPtr user)
    {
        UnicornExecutionContext context = FromUser(user);
#pragma warning disable CA1031 // Interop boundary: nothing may unwind into the engine; the failure is reported instead.
        try
        {
            MemoryAccessKinds kind = type == UcConst.MemWrite ? MemoryAccessKinds.Write : MemoryAccessKinds.Read;
            context._callbacks.OnMemoryAccess(kind, address, size, kind == MemoryAccessKinds.Write ? (ulong)value : 0);
        }
        catch (Exception ex)
        {
            context._callbacks.OnCallbackFailed($"the memory callback at physical 0x{address:X}", ex);
        }
#pragma warning restore CA1031
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnInstructionHook(IntPtr uc, ulong address, uint size, IntPtr user)
    {
        UnicornExecutionContext context = FromUser(user);
#pragma warning disable CA1031 // Interop boundary: nothing may unwind into the engine; the failure is reported instead.
        try
        {
            context._callbacks.OnInstruction(address);
        }
        catch (Exception ex)
        {
            context._callbacks.OnCallbackFailed($"the instruction callback at 0x{address:X}", ex);
        }
#pragma warning restore CA1031
    }
}
