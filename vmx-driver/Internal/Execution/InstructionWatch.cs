// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// The one place that decides whether a core calls back every instruction for the driver's own sake, and that looks at
/// each instruction then: the engine has no hook for RDMSR, WRMSR, RDTSC, RDTSCP (UC_HOOK_INSN refuses them), RDPMC, MOV
/// to or from CRn and DRn, nor a callback when CPL changes, so while <c>!sysret</c> hides EFER.SCE
/// (<see cref="HidesSyscallEnable"/>) or an instruction event is trapped (<see cref="GuestEventKinds.InstructionEvents"/>),
/// the single-step hook is on and <see cref="OnInstruction"/> decodes the instruction about to execute. A guest with
/// neither runs without the hook.
/// </summary>
/// <remarks>
/// The events fire as VT-x exits would (SDM Vol. 3C 26.1.1, 26.1.3): before the instruction, only where the
/// instruction would not fault on privilege first (CPL 0 for RDMSR, WRMSR and MOV CR/DR; CR4.TSD and CR4.PCE for RDTSC
/// and RDPMC at CPL above 0). The engine performs the instruction itself after the pre stage (its own semantics,
/// faults included); the post stage comes at the core's next instruction boundary (after the instruction, or at the
/// first instruction of the handler of a fault it raised). Skipping (short-circuit) continues after the instruction
/// with nothing done. A pre stage that halted the VM restarts the block at the instruction, which then runs once
/// without firing again (as a breakpoint resumes), so a step from that halt executes it.
/// </remarks>
internal sealed class InstructionWatch
{
    private const uint MsrEfer = 0xC000_0080;
    private const int MaxLength = 15;
    private const ulong Cr4Tsd = 1UL << 2;
    private const ulong Cr4De = 1UL << 3;
    private const ulong Cr4Pce = 1UL << 8;
    private const int UserMode = 3;
    private const int KernelMode = 0;

    private readonly Vcpu _core;
    private readonly VirtualMachine _vm;
    private GuestEventExit? _pendingPost;
    private ulong? _passAt;
    private int? _lastMode;

    public InstructionWatch(Vcpu core)
    {
        _core = core;
        _vm = core.Machine;
    }

    /// <summary>SYSRET is trapped and the core can run long-mode code (HyperDbg's EFER hook applies to it).</summary>
    public static bool HidesSyscallEnable(Vcpu core) => core.Is64Bit && core.Machine.HidesSyscallEnable;

    /// <summary>Whether <paramref name="core"/> must call back every instruction for the driver.</summary>
    public static bool IsWanted(Vcpu core) => HidesSyscallEnable(core) || core.Machine.Traps(GuestEventKinds.InstructionEvents);

    /// <summary>Called when the hooks are applied: a mode watch starts from the mode the core is in then.</summary>
    public void Reset()
    {
        _lastMode = null;
        _passAt = null;
    }

    /// <summary>At a block boundary, before anything else may halt there: the post stage of the last instruction's
    /// event.</summary>
    public void AtBlockBoundary()
    {
        if (_pendingPost is not null)
        {
            FirePost(DebugSite.BlockBoundary);
        }
    }

    /// <summary>At an instruction callback, before the debugger's checks: the post stage of the previous instruction's
    /// event; true when it halted the VM and restarted the block (nothing else may act at this callback).</summary>
    public bool BeforeInstruction()
    {
        if (_pendingPost is null)
        {
            return false;
        }

        long halts = _vm.HaltCount;
        FirePost(DebugSite.Instruction);
        if (_vm.HaltCount == halts || _vm.StopRequested)
        {
            return false;
        }

        // Start again at this instruction after the block boundary (a step asked for at the halt starts there).
        _core.Debug.RestartAt(null);
        return true;
    }

    /// <summary>The instruction at <paramref name="address"/> is about to execute (the debugger's checks passed).</summary>
    public void OnInstruction(ulong address)
    {
        // Resuming from a halt in this instruction's pre stage: it runs now without firing again.
        bool pass = _passAt == address;
        _passAt = null;
        IExecutionContext context = _core.Context;
        if (!_vm.Traps(GuestEventKinds.Mode))
        {
            _lastMode = null; // a !mode set later starts from the mode the core is in then
        }
        else if (!pass && ModeChanged(address))
        {
            return;
        }

        Span<byte> bytes = stackalloc byte[MaxLength];
        int read = _core.ReadVirtual(address, bytes);
        if (!TryDecode(bytes[..read], out InstructionKind kind, out int length, out int register, out int gpr, out bool rex))
        {
            return;
        }

        if (rex && _core.CodeBitness() != 64)
        {
            return; // 40h-4Fh were INC/DEC: the two-byte opcode is an instruction of its own, called back separately
        }

        int cpl = context.ReadPrivilegeLevel();
        switch (kind)
        {
            case InstructionKind.Rdmsr or InstructionKind.Wrmsr when cpl == 0:
                uint msr = (uint)context.ReadRegister(GuestRegister.Rcx);
                GuestEventKinds msrKind = kind == InstructionKind.Rdmsr ? GuestEventKinds.MsrRead : GuestEventKinds.MsrWrite;
                if ((pass || !_vm.Traps(msrKind) || Fire(address, length, msrKind, msr)) && msr == MsrEfer && context.SyscallEnableHidden)
                {
                    EferAccess(kind, length);
                }

                return;
            case InstructionKind.MovToCr when !pass && cpl == 0 && register is 0 or 4 && _vm.Traps(GuestEventKinds.CrWrite):
                ulong value = Operand(gpr);
                ulong old = context.ReadRegister(register == 0 ? GuestRegister.Cr0 : GuestRegister.Cr4);
                Fire(address, length, GuestEventKinds.CrWrite, (ulong)register, value, old);
                return;
            case InstructionKind.MovToDr or InstructionKind.MovFromDr when !pass && cpl == 0 && _vm.Traps(GuestEventKinds.DebugRegister)
                && !(register is 4 or 5 && (context.ReadRegister(GuestRegister.Cr4) & Cr4De) != 0):
                Fire(address, length, GuestEventKinds.DebugRegister, 0, kind == InstructionKind.MovToDr ? Operand(gpr) : null);
                return;
            case InstructionKind.Rdtsc or InstructionKind.Rdtscp when !pass && (cpl == 0 || (context.ReadRegister(GuestRegister.Cr4) & Cr4Tsd) == 0)
                && _vm.Traps(GuestEventKinds.Tsc) && (kind == InstructionKind.Rdtsc || OffersRdtscp()):
                Fire(address, length, GuestEventKinds.Tsc, kind == InstructionKind.Rdtscp ? 1UL : 0);
                return;
            case InstructionKind.Rdpmc when !pass && (cpl == 0 || (context.ReadRegister(GuestRegister.Cr4) & Cr4Pce) != 0) && _vm.Traps(GuestEventKinds.Pmc):
                Fire(address, length, GuestEventKinds.Pmc, 0);
                return;
            default:
                return;
        }
    }

    /// <summary>HyperDbg's execution trap: the first instruction in user mode after kernel mode, or the reverse; true
    /// when the block was restarted (nothing else may act at this callback).</summary>
    private bool ModeChanged(ulong address)
    {
        int mode = _core.Context.ReadPrivilegeLevel() == 3 ? UserMode : KernelMode;
        if (_lastMode is not int last || last == mode)
        {
            _lastMode = mode;
            return false;
        }

        GuestEventExit? exit = Begin(GuestEventKinds.Mode, (ulong)mode, out bool halted);
        if (_vm.StopRequested)
        {
            return true;
        }

        if (exit is { SkipInstruction: true })
        {
            // HyperDbg keeps the thread from running: the block starts again here and the event fires again.
            _core.Debug.RestartAt(null);
            return true;
        }

        _lastMode = mode;
        if (halted)
        {
            // The instruction's own events (and a step asked for at the halt) come after the block boundary.
            _core.Debug.RestartAt(address);
            return true;
        }

        return false;
    }

    /// <summary>The pre stage of an instruction event; true when the instruction is to run now (not skipped, not
    /// restarted after a halt, the run not ended).</summary>
    private bool Fire(ulong address, int length, GuestEventKinds kind, ulong context, ulong? newValue = null, ulong? oldValue = null)
    {
        GuestEventExit? exit = Begin(kind, context, out bool halted, newValue, oldValue);
        if (_vm.StopRequested)
        {
            return false;
        }

        if (exit is null)
        {
            return true;
        }

        IExecutionContext engine = _core.Context;
        if (exit.SkipInstruction)
        {
            // Past the instruction: the engine leaves the block before it and goes on there.
            engine.WriteRegister(GuestRegister.Rip, engine.ReadRegister(GuestRegister.Rip) + (ulong)length);
            return false;
        }

        if (exit.PostStageRequested)
        {
            _pendingPost = exit;
        }

        if (halted)
        {
            _passAt = address;
            _core.Debug.RestartAt(address);
            return false;
        }

        return true;
    }

    private GuestEventExit? Begin(GuestEventKinds kind, ulong context, out bool halted, ulong? newValue = null, ulong? oldValue = null)
    {
        CoreDebug debug = _core.Debug;
        DebugSite before = debug.Site;
        debug.Site = DebugSite.Instruction;
        long halts = _vm.HaltCount;
        GuestEventExit? exit = _vm.BeginGuestEvent(_core, kind, context, _core.Context.ReadRegister(GuestRegister.Rip), newValue: newValue, oldValue: oldValue);
        halted = _vm.HaltCount != halts;
        debug.Site = before;
        return exit;
    }

    private void FirePost(DebugSite site)
    {
        GuestEventExit exit = _pendingPost!;
        _pendingPost = null;
        CoreDebug debug = _core.Debug;
        DebugSite before = debug.Site;
        debug.Site = site;
        _vm.EndGuestEvent(exit);
        debug.Site = before;
    }

    /// <summary>CPUID 80000001h EDX bit 27: without it RDTSCP raises #UD before any exit.</summary>
    private bool OffersRdtscp() => ((CpuidTable.Lookup(0x8000_0001, 0, _core.Index).Edx >> 27) & 1) != 0;

    /// <summary>The value of general register <paramref name="gpr"/> as a MOV to CR/DR reads it (32 bits outside 64-bit
    /// code).</summary>
    private ulong Operand(int gpr)
    {
        ulong value = _core.Context.ReadRegister((GuestRegister)gpr);
        return _core.CodeBitness() == 64 ? value : value & uint.MaxValue;
    }

    /// <summary>RDMSR/WRMSR of EFER while SCE is hidden from the engine: performed on the guest's own EFER and
    /// skipped.</summary>
    private void EferAccess(InstructionKind kind, int length)
    {
        IExecutionContext context = _core.Context;
        if (kind == InstructionKind.Rdmsr)
        {
            ulong efer = context.ReadMsr(MsrEfer);
            context.WriteRegister(GuestRegister.Rax, efer & uint.MaxValue);
            context.WriteRegister(GuestRegister.Rdx, efer >> 32);
        }
        else
        {
            context.WriteMsr(MsrEfer, (context.ReadRegister(GuestRegister.Rdx) << 32) | (uint)context.ReadRegister(GuestRegister.Rax));
        }

        // Past the instruction: the engine leaves the block before it and goes on there.
        context.WriteRegister(GuestRegister.Rip, context.ReadRegister(GuestRegister.Rip) + (ulong)length);
    }

    /// <summary>
    /// The instructions the watch looks for, at the start of <paramref name="bytes"/> after legacy prefixes and at most
    /// one REX (<paramref name="rex"/>: one was there; only 64-bit code has REX): <c>0F 30</c> WRMSR, <c>0F 31</c>
    /// RDTSC, <c>0F 32</c> RDMSR, <c>0F 33</c> RDPMC, <c>0F 01 F9</c> RDTSCP, <c>0F 22 /r</c> MOV CRn, r, <c>0F 21 /r</c>
    /// and <c>0F 23 /r</c> MOV r, DRn and MOV DRn, r (the ModRM's reg field, with REX.R, is the CR/DR number, its r/m
    /// field, with REX.B, the general register).
    /// </summary>
    internal static bool TryDecode(ReadOnlySpan<byte> bytes, out InstructionKind kind, out int length, out int register, out int gpr, out bool rex)
    {
        kind = InstructionKind.None;
        length = 0;
        register = 0;
        gpr = 0;
        rex = false;
        int i = 0;
        while (i < bytes.Length && i < MaxLength - 2 && bytes[i] is 0x26 or 0x2E or 0x36 or 0x3E or 0x64 or 0x65 or 0x66 or 0x67 or 0xF0 or 0xF2 or 0xF3)
        {
            i++;
        }

        byte rexBits = 0;
        if (i < bytes.Length && bytes[i] is >= 0x40 and <= 0x4F)
        {
            rex = true;
            rexBits = bytes[i];
            i++;
        }

        if (i + 2 > bytes.Length || bytes[i] != 0x0F)
        {
            return false;
        }

        byte op = bytes[i + 1];
        switch (op)
        {
            case 0x30 or 0x31 or 0x32 or 0x33:
                kind = op switch { 0x30 => InstructionKind.Wrmsr, 0x31 => InstructionKind.Rdtsc, 0x32 => InstructionKind.Rdmsr, _ => InstructionKind.Rdpmc };
                length = i + 2;
                return true;
            case 0x01 when i + 3 <= bytes.Length && bytes[i + 2] == 0xF9:
                kind = InstructionKind.Rdtscp;
                length = i + 3;
                return true;
            case 0x21 or 0x22 or 0x23 when i + 3 <= bytes.Length:
                byte modrm = bytes[i + 2];
                register = ((modrm >> 3) & 7) | ((rexBits & 4) << 1);
                gpr = (modrm & 7) | ((rexBits & 1) << 3);
                kind = op switch { 0x21 => InstructionKind.MovFromDr, 0x22 => InstructionKind.MovToCr, _ => InstructionKind.MovToDr };
                length = i + 3;
                return true;
            default:
                return false;
        }
    }
}
