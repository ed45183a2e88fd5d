// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HyperDbgRemote.VmxDriver.Internal.Execution;
using HyperDbgRemote.VmxDriver.Internal.Unicorn;

namespace HyperDbgRemote.VmxDriver;

/// <content>The core's thread, the engine hooks and the slow path at block boundaries.</content>
public sealed unsafe partial class Vcpu
{
    private string? _fault;

    private void InstallHooks()
    {
        IntPtr user = (IntPtr)_slot;
        _slot->SlowPath = (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, ulong, uint, IntPtr, void>)&OnBlockSlowPath;
        _engine.AddHook(UcConst.HookBlock, (void*)NativeBlockThunk.Address, (void*)user);
        _engine.AddInstructionHook(UcConst.InsOut, (delegate* unmanaged[Cdecl]<IntPtr, uint, int, uint, IntPtr, void>)&OnOut, (void*)user);
        _engine.AddInstructionHook(UcConst.InsIn, (delegate* unmanaged[Cdecl]<IntPtr, uint, int, IntPtr, uint>)&OnIn, (void*)user);
        _engine.AddHook(UcConst.HookIntr, (delegate* unmanaged[Cdecl]<IntPtr, uint, IntPtr, void>)&OnInterrupt, (void*)user);
        _engine.AddHook(UcConst.HookMemUnmapped, (delegate* unmanaged[Cdecl]<IntPtr, int, ulong, int, long, IntPtr, byte>)&OnUnmapped, (void*)user);
    }

    /// <summary>Maps guest memory and sets the start state. Called once before <see cref="StartThread"/>.</summary>
    internal void Prepare()
    {
        foreach (GuestMemoryRegion r in _vm.Memory.Regions)
        {
            _engine.MapPointer(r.Address, r.Size, r.Writable ? UcConst.ProtAll : UcConst.ProtRead | UcConst.ProtExec, (void*)r.Host);
        }

        if (_start.Mode == CoreStartMode.Long64)
        {
            if (_start.PageTableRoot != 0)
            {
                _engine.WriteRegister(UcReg.Cr3, _start.PageTableRoot);
                _engine.WriteRegister(UcReg.Cr4, _engine.ReadRegister(UcReg.Cr4) | Cr4Pae);
                _engine.WriteRegister(UcReg.Cr0, _engine.ReadRegister(UcReg.Cr0) | Cr0Pg | Cr0Pe);
            }

            if (_start.GdtBase != 0)
            {
                WriteTableRegister(UcReg.Gdtr, _start.GdtBase, Guests.IdentityMap.GdtLimit);
                _engine.WriteRegister(UcReg.Cs, Guests.IdentityMap.CodeSelector);
                foreach (int segment in (ReadOnlySpan<int>)[UcReg.Ss, UcReg.Ds, UcReg.Es])
                {
                    _engine.WriteRegister(segment, Guests.IdentityMap.DataSelector);
                }
            }

            _engine.WriteRegister(UcReg.Rsp, _start.StackPointer);
            _engine.WriteRegister(UcReg.Rip, _start.InstructionPointer);
        }
        else
        {
            _engine.WriteRegister(UcReg.Cs, _start.CodeSegment);
            _engine.WriteRegister(UcReg.Ss, 0);
            _engine.WriteRegister(UcReg.Esp, _start.StackPointer);
            _engine.WriteRegister(UcReg.Eip, _start.InstructionPointer);
        }
    }

    private const ulong Cr0Pg = 1UL << 31;
    private const ulong Cr4Pae = 1UL << 5;

    internal void StartThread()
    {
        _slot->Quantum = _vm.QuantumBlocks;
        _thread = new Thread(ThreadMain) { IsBackground = true, Name = $"vcpu{Index}" };
        _thread.Start();
    }

    internal void Join() => _thread?.Join();

    internal void RaiseAttention() => Volatile.Write(ref _slot->Attention, 1);

    internal void ClearAttention() => Volatile.Write(ref _slot->Attention, 0);

    /// <summary>Called by the VM to end this core's run at the next block boundary or now (from its own hooks).</summary>
    internal void StopEngine() => _engine.Stop();

    private ulong StartAddress() =>
        _start.Mode == CoreStartMode.Long64 ? _start.InstructionPointer : ((ulong)_start.CodeSegment << 4) + _start.InstructionPointer;

    private void ThreadMain()
    {
        s_onCoreThread = true;
        ulong begin = StartAddress();
        if (!_vm.AcquireBaton(this))
        {
            State = CoreState.Stopped;
            _vm.CoreExited(this, null);
            return;
        }

        if (_vm.TakeInitialBreak())
        {
            _vm.Halt(this, HaltReason.InitialBreak);
            begin = LinearInstructionPointer();
        }

        string? fault = null;
        while (true)
        {
            int err = _engine.Start(begin);
            if (_vm.StopRequested)
            {
                break;
            }

            if (_fault is not null)
            {
                fault = _fault;
                break;
            }

            if (err != UcConst.ErrOk)
            {
                fault = $"core {Index}: {UcEngine.ErrorText(err)} (uc_err {err}) at RIP 0x{ReadRegister(GuestRegister.Rip):X}"
                    + (_lastUnmapped is null ? string.Empty : $"; {_lastUnmapped}");
                break;
            }

            // HLT: an injected event is taken now (it wakes the core, returning after the HLT); otherwise the core
            // waits until an event is injected (by another core's exit handler or the debugger) or the VM stops.
            begin = LinearInstructionPointer();
            if (!_vm.IdleUntilWoken(this))
            {
                break;
            }

            if (HasPendingInjection)
            {
                DeliverPendingInjection(begin);
                if (_fault is not null)
                {
                    fault = _fault;
                    break;
                }

                begin = LinearInstructionPointer();
            }
        }

        State = CoreState.Stopped;
        _vm.CoreExited(this, fault);
    }

    private string? _lastUnmapped;

    private static Vcpu FromUser(IntPtr user) => Unsafe.As<Vcpu>(GCHandle.FromIntPtr(((BlockSlot*)user)->Owner).Target!);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnBlockSlowPath(IntPtr uc, ulong address, uint size, IntPtr user)
    {
        Vcpu cpu = FromUser(user);
#pragma warning disable CA1031 // Interop boundary: nothing may unwind into the engine; the fault is reported instead.
        try
        {
            cpu._slot->Quantum = cpu._vm.QuantumBlocks;
            cpu._vm.OnBlockBoundary(cpu);
            cpu.DeliverPendingInjection(address);
        }
        catch (Exception ex)
        {
            cpu.Fail($"core {cpu.Index}: internal error at a block boundary: {ex}");
        }
#pragma warning restore CA1031
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnOut(IntPtr uc, uint port, int size, uint value, IntPtr user)
    {
        BlockSlot* slot = (BlockSlot*)user;
        uint index = slot->IoIndex++;
        Vcpu cpu = FromUser(user);
#pragma warning disable CA1031 // Interop boundary: nothing may unwind into the engine; the fault is reported instead.
        try
        {
            cpu.Out((ushort)port, size, value, index);
        }
        catch (Exception ex)
        {
            cpu.Fail($"core {cpu.Index}: OUT to port 0x{port:X4} failed: {ex}");
        }
#pragma warning restore CA1031
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static uint OnIn(IntPtr uc, uint port, int size, IntPtr user)
    {
        BlockSlot* slot = (BlockSlot*)user;
        uint index = slot->IoIndex++;
        Vcpu cpu = FromUser(user);
#pragma warning disable CA1031 // Interop boundary: nothing may unwind into the engine; the fault is reported instead.
        try
        {
            return cpu.In((ushort)port, size, index);
        }
        catch (Exception ex)
        {
            cpu.Fail($"core {cpu.Index}: IN from port 0x{port:X4} failed: {ex}");
            return uint.MaxValue;
        }
#pragma warning restore CA1031
    }

    // The work of the I/O hooks lives in ordinary methods, not in the [UnmanagedCallersOnly] entry points: those are
    // compiled once, fully optimised but without profile-guided optimisation, so their device call stays an interface
    // dispatch. Here tiered compilation profiles the call and inlines the device a port loop uses behind a type check
    // (measured: about 2 ns of an OUT's 25 ns).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Out(ushort port, int size, uint value, uint index)
    {
        if (!Controls.ShouldExit(port, size))
        {
            _vm.Ports.Write(port, size, value);
            return;
        }

        ExitOut(port, size, value, index);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private uint In(ushort port, int size, uint index) =>
        Controls.ShouldExit(port, size) ? ExitIn(port, size, index) : _vm.Ports.Read(port, size);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnInterrupt(IntPtr uc, uint vector, IntPtr user)
    {
        Vcpu cpu = FromUser(user);
#pragma warning disable CA1031 // Interop boundary: nothing may unwind into the engine; the fault is reported instead.
        try
        {
            cpu.DeliverException((int)vector);
        }
        catch (Exception ex)
        {
            cpu.Fail($"core {cpu.Index}: interrupt {vector} delivery failed: {ex}");
        }
#pragma warning restore CA1031
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static byte OnUnmapped(IntPtr uc, int type, ulong address, int size, long value, IntPtr user)
    {
        Vcpu cpu = FromUser(user);
        string kind = type switch
        {
            19 => "read",
            20 => "write",
            21 => "fetch",
            _ => "access",
        };
        cpu._lastUnmapped = $"unmapped guest-physical {kind} of {size} byte(s) at 0x{address:X}";
        return 0;
    }

    /// <summary>Records a fault and stops this core's engine; the VM then stops with the report.</summary>
    internal void Fail(string report)
    {
        _fault ??= report;
        _engine.Stop();
    }
}
