// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// One core's traps from its execution context into the VMX model (I/O instructions aside, see
/// <see cref="IoInstructions"/>): block boundaries to the VM's scheduler, event injection and the INTR input
/// (<see cref="ExternalInterrupts"/>), exceptions to <see cref="EventDelivery"/>, CPUID to <see cref="CpuidTable"/>, intercepted instructions to
/// <see cref="CoreIntercepts"/>.
/// </summary>
internal sealed class CoreTraps : IExecutionCallbacks
{
    private const ulong Cr4Pce = 1UL << 8;

    private readonly Vcpu _core;
    private readonly VirtualMachine _vm;
    private readonly EventDelivery _events;
    private readonly ExternalInterrupts _interrupts;

    /// <summary>The block count at which the VM's time slice ends (its scheduler runs then).</summary>
    private ulong _vmSliceEnd;

    public CoreTraps(Vcpu core, EventDelivery events, ExternalInterrupts interrupts)
    {
        _core = core;
        _vm = core.Machine;
        _events = events;
        _interrupts = interrupts;
    }

    /// <inheritdoc/>
    /// <remarks>The slow path runs when the VM's time slice ends, when attention was raised (a pause, a stop, an
    /// injection, a rising INTR) or when the INTR input asked to look again: the VM's scheduler runs only for the first
    /// two, so polling INTR does not pass the baton between cores.</remarks>
    public void OnBlockBoundary(ulong address)
    {
        IExecutionContext context = _core.Context;
        CoreDebug debug = _core.Debug;
        context.ClearAttention();
        Interlocked.MemoryBarrier(); // a request raised after the clear is seen below, or raises attention again
        if (_core.InitPending)
        {
            context.Stop(); // an INIT: the core's thread resets it and waits for a start-up IPI (CoreThread)
            return;
        }

        _core.FireDueTimers(); // the clock's pacer raised attention for a due timer (VirtualMachine.PaceClock)
        ulong now = context.BlocksExecuted;
        debug.Site = DebugSite.BlockBoundary;
        _core.InstructionEvents.AtBlockBoundary(address);
        if (now >= _vmSliceEnd || _vm.WantsAttention)
        {
            context.RaiseAttention(); // the VM clears it when nothing is left to do
            _vm.OnBlockBoundary(_core);
            if (_core.InitPending)
            {
                context.Stop(); // an INIT came while the core waited for the baton
                return;
            }

            _core.SyncTsc();
            _vmSliceEnd = now + (ulong)_vm.QuantumBlocks;
        }

        if (context.ApplyOtherCoresCodeWrites())
        {
            // Another core wrote code this one had translated (it ran while this one waited for the baton or was
            // halted): the block at this boundary may be one of the dropped ones, so it runs from a new translation.
            RestartAt(address);
        }

        debug.AtBlockBoundary(address);
        debug.Site = DebugSite.InsideInstruction;
        if (_vm.StopRequested)
        {
            return;
        }

        ulong sliceLeft = _vmSliceEnd - now;
        if (_events.HasPendingInjection)
        {
            // The injected event goes first; INTR is looked at again at the boundary before its handler's first block.
            _events.DeliverPendingInjection(address);
            context.SetTimeSlice(1);
            return;
        }

        // A single step takes no external interrupt (HyperDbg's 'i' and 't' land on the stepped code's next
        // instruction, not in an interrupt handler): INTR stays pending and is looked at again at every boundary.
        int recheck = debug.HoldsInterrupts ? 1 : _interrupts.OnBlockBoundary(address);
        context.SetTimeSlice((int)Math.Min(sliceLeft, recheck == 0 ? int.MaxValue : (ulong)recheck));
    }

    /// <summary>Leaves the block about to run and runs from <paramref name="linear"/> again (a write of RIP ends the
    /// engine's block).</summary>
    private void RestartAt(ulong linear)
    {
        ulong rip = unchecked(linear - _core.SegmentBase(GuestRegister.Cs));
        _core.Context.WriteRegister(GuestRegister.Rip, _core.Is64Bit ? rip : rip & uint.MaxValue);
    }

    /// <inheritdoc/>
    /// <remarks>While <see cref="InstructionWatch.IsWanted"/>, every instruction comes here: the debugger's checks, then
    /// the watch (<c>!mode</c>).</remarks>
    public void OnInstruction(ulong address)
    {
        CoreDebug debug = _core.Debug;
        InstructionWatch watch = _core.Watch;
        debug.OnInstruction(address);
        if (debug.Watches && !debug.Restarted && !_vm.StopRequested)
        {
            watch.OnInstruction(address);
        }
    }

    /// <inheritdoc/>
    /// <remarks>The guest's own data breakpoints first (<see cref="GuestBreakpoints"/>), then the debugger's monitors.</remarks>
    public void OnMemoryAccess(MemoryAccessKinds kind, ulong address, int size, ulong value)
    {
        _core.GuestBreakpoints.OnDataAccess(kind, address, size);
        _vm.OnMonitoredData(_core, kind, address, size, value);
    }

    /// <inheritdoc/>
    /// <remarks>While EFER.SCE is hidden from the engine (<c>!sysret</c>), a #UD at a SYSRET is the EFER hook's: the
    /// model performs the SYSRET (<see cref="FastSystemCalls.TryPerformSysret"/>). A #GP at an RDPMC at CPL above 0
    /// with CR4.PCE set is the engine's (<see cref="IsEnginesRdpmcFault"/>): it goes to the RDPMC intercept instead.</remarks>
    public void OnException(int vector)
    {
        if (vector == 1)
        {
            // A single step after an instruction that also hit a data or I/O breakpoint: one #DB says both.
            uint hits = _core.GuestBreakpoints.TakePendingTrap();
            TakeSingleStepStatus(hits);
        }
        else
        {
            _core.GuestBreakpoints.ClearPendingTrap(); // a faulting instruction did not complete: no data-breakpoint trap
        }

        if (vector == 6 && FastSystemCalls.TryPerformSysret(_core, _events))
        {
            return;
        }

        if (vector == 13 && IsEnginesRdpmcFault())
        {
            // The engine's record of the #GP must not make the next fault a double fault: nothing was delivered.
            _core.Context.ExceptionDelivered();
            _core.Intercepts.OnExit(new InterceptExit(InterceptKind.Rdpmc, 0, _core.ReadRegister(GuestRegister.Rip), InterceptExit.RdpmcExit));
            return;
        }

        _events.DeliverException(vector);
    }

    /// <summary>
    /// A #DB the engine raised: a single step (RFLAGS.TF), whose helper sets BS in the engine's DR6, or ICEBP (F1),
    /// which sets nothing. The guest's DR6 is the model's (<see cref="GuestDebugRegisters"/>): BS moves there with
    /// B0–B3 of the data or I/O breakpoints the stepped instruction hit, <paramref name="hits"/> (SDM Vol. 3B 18.2.3),
    /// and the engine's is cleared for the next step.
    /// </summary>
    private void TakeSingleStepStatus(uint hits)
    {
        const ulong Bs = 1UL << 14;
        GuestDebugRegisters dr = _core.DebugRegisters;
        ulong engine = _core.Context.ReadRegister(GuestRegister.Dr6);
        if ((engine & Bs) != 0)
        {
            dr.Dr6 = (dr.Dr6 & ~0xFUL) | hits | Bs;
            _core.Context.WriteRegister(GuestRegister.Dr6, engine & ~Bs);
        }
    }

    /// <summary>
    /// Unicorn 2.1.1's RDPMC helper tests CR4.PCE the wrong way round (QEMU before c45b426acd): it raises #GP(0) at CPL
    /// above 0 when PCE is set (where hardware reads the counter) and, when PCE is clear, goes on to the intercept check
    /// (the model raises the #GP there). Measured by <c>RdpmcTests</c>.
    /// </summary>
    private bool IsEnginesRdpmcFault()
    {
        if ((_core.ReadRegister(GuestRegister.Cr4) & Cr4Pce) == 0 || _core.Context.ReadPrivilegeLevel() == 0)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[15];
        int read = _core.ReadVirtual(_core.LinearInstructionPointer(), bytes);
        int prefixes = CoreIntercepts.PrefixLength(bytes[..read], _core.CodeBitness() == 64);
        return bytes[prefixes..read] is [0x0F, 0x33, ..];
    }

    /// <inheritdoc/>
    public void OnIntercept(InterceptExit exit) => _core.Intercepts.OnExit(exit);

    /// <inheritdoc/>
    public void OnSystemInstruction(SystemInstruction instruction, int length) => FastSystemCalls.Perform(_core, _events, instruction, length);

    /// <inheritdoc/>
    /// <remarks>With a CPUID event (<see cref="GuestEventKinds.Cpuid"/>): the pre stage sees the leaf in EAX and RIP at the
    /// instruction (the engine syncs RIP before its CPUID helper); the table answers with the EAX and ECX the pre stage
    /// left (as HyperDbg emulates with the registers its event left), unless it skipped the emulation; the post stage
    /// sees the results.</remarks>
    public CpuidResult? OnCpuid(uint leaf, uint subleaf)
    {
        if (!_vm.Traps(GuestEventKinds.Cpuid))
        {
            return CpuidTable.Lookup(leaf, subleaf, _core.Index, _vm.Configuration.Apic);
        }

        GuestEventExit? exit = _vm.BeginGuestEvent(_core, GuestEventKinds.Cpuid, leaf, _core.ReadRegister(GuestRegister.Rip));
        if (exit is not { SkipInstruction: true })
        {
            CpuidResult r = CpuidTable.Lookup((uint)_core.ReadRegister(GuestRegister.Rax), (uint)_core.ReadRegister(GuestRegister.Rcx), _core.Index, _vm.Configuration.Apic);
            _core.WriteRegister(GuestRegister.Rax, r.Eax);
            _core.WriteRegister(GuestRegister.Rbx, r.Ebx);
            _core.WriteRegister(GuestRegister.Rcx, r.Ecx);
            _core.WriteRegister(GuestRegister.Rdx, r.Edx);
        }

        _vm.EndGuestEvent(exit);
        return null;
    }

    /// <inheritdoc/>
    public void OnCallbackFailed(string what, Exception exception) =>
        _core.Fail($"core {_core.Index}: {what} failed: {exception}");
}
