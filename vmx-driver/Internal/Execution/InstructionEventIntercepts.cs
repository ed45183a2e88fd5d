// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// HyperDbg's instruction events on the engine's instruction intercepts (<see cref="CoreIntercepts.Request"/>):
/// <c>!msrread</c>/<c>!msrwrite</c> (RDMSR/WRMSR of every MSR), <c>!crwrite</c> (MOV to CR0/CR4), <c>!dr</c> (MOV from/to
/// DR0–DR7), <c>!tsc</c> (RDTSC), <c>!pmc</c> (RDPMC), and RDMSR/WRMSR of EFER while <c>!sysret</c> hides EFER.SCE from
/// the engine (the model reads and writes the guest's own EFER). Only the intercepted instruction costs: the rest of the
/// guest runs at full speed. One per core, on the core's thread.
/// </summary>
/// <remarks>
/// The events fire as VT-x exits would (SDM Vol. 3C 26.1.1, 26.1.3): the engine's own privilege checks come before its
/// intercept checks (CPL 0 for RDMSR, WRMSR and MOV CR/DR; CR4.TSD for RDTSC), and this class adds those it lacks (RDPMC
/// with CR4.PCE clear above CPL 0, MOV DR4/DR5 with CR4.DE: no event, the model raises the fault). At the exit (RIP at
/// the instruction) the pre stage fires; not skipped, the model performs the instruction (<see cref="CoreIntercepts.Perform"/>)
/// and the post stage fires right after it (RIP after it, or at the handler of a fault it raised). Skipping continues
/// after the instruction with nothing done. A pre stage that halted the VM restarts the block at the instruction, which
/// then runs once without firing again (as a breakpoint resumes), so a step from that halt executes it; a post stage
/// that halted restarts the block after it, so a step from there executes the next instruction.
/// </remarks>
internal sealed class InstructionEventIntercepts
{
    /// <summary>The event kinds served here (<c>!mode</c> is not: a CPL change has no intercept, see
    /// <see cref="InstructionWatch"/>).</summary>
    public const GuestEventKinds Kinds = GuestEventKinds.MsrRead | GuestEventKinds.MsrWrite | GuestEventKinds.CrWrite
        | GuestEventKinds.DebugRegister | GuestEventKinds.Tsc | GuestEventKinds.Pmc;

    private const uint MsrEfer = 0xC000_0080;
    private const int MaxLength = 15;
    private const int HidesSyscallEnableKey = 1 << 30;

    private readonly Vcpu _core;
    private readonly VirtualMachine _vm;
    private int _applied;
    private ulong? _passAt;
    private GuestEventExit? _pendingPost;

    public InstructionEventIntercepts(Vcpu core)
    {
        _core = core;
        _vm = core.Machine;
    }

    /// <summary>True when the trapped events (or <c>!sysret</c>'s EFER hook) changed since <see cref="Apply"/>.</summary>
    public bool Changed => WantedKey() != _applied;

    /// <summary>The intercepts <paramref name="kinds"/> need (and EFER's, <paramref name="hidesSyscallEnable"/>).</summary>
    public static InstructionIntercepts For(GuestEventKinds kinds, bool hidesSyscallEnable)
    {
        bool reads = (kinds & GuestEventKinds.MsrRead) != 0;
        bool writes = (kinds & GuestEventKinds.MsrWrite) != 0;
        MsrPermissionMap? msrs = reads || writes ? MsrPermissionMap.All(reads, writes) : null;
        if (hidesSyscallEnable)
        {
            msrs = (msrs ?? new MsrPermissionMap()).Intercept(MsrEfer);
        }

        bool dr = (kinds & GuestEventKinds.DebugRegister) != 0;
        return new InstructionIntercepts
        {
            Msrs = msrs,
            CrWrites = (ushort)((kinds & GuestEventKinds.CrWrite) != 0 ? (1 << 0) | (1 << 4) : 0),
            DrReads = (byte)(dr ? 0xFF : 0),
            DrWrites = (byte)(dr ? 0xFF : 0),
            Rdtsc = (kinds & GuestEventKinds.Tsc) != 0,
            Rdpmc = (kinds & GuestEventKinds.Pmc) != 0,
        };
    }

    /// <summary>Requests the intercepts the trapped events need (at a block boundary or before a run).</summary>
    public void Apply()
    {
        int key = WantedKey();
        if (key == _applied)
        {
            return;
        }

        _applied = key;
        var kinds = (GuestEventKinds)(key & ~HidesSyscallEnableKey);
        bool hide = (key & HidesSyscallEnableKey) != 0;
        if (key == 0)
        {
            _core.Intercepts.Request(InstructionIntercepts.None, null);
        }
        else
        {
            _core.Intercepts.Request(For(kinds, hide), OnExit);
        }
    }

    /// <summary>At a block boundary: a pass or a post stage left by a halt whose instruction did not run again (the
    /// debugger moved RIP) ends here.</summary>
    public void AtBlockBoundary(ulong address)
    {
        if (_passAt is ulong pass && pass != address)
        {
            _passAt = null;
            FirePendingPost();
        }
    }

    private int WantedKey()
    {
        int kinds = _vm.Traps(Kinds) ? (int)(_vm.TrappedGuestEvents & Kinds) : 0;
        return kinds | (InstructionWatch.HidesSyscallEnable(_core) ? HidesSyscallEnableKey : 0);
    }

    /// <summary>The requester's handler: true when the instruction was performed, skipped or left for a restart.</summary>
    private bool OnExit(InterceptExit exit)
    {
        bool pass = _passAt == exit.Rip;
        _passAt = null;
        if (pass)
        {
            // Resuming from a halt in this instruction's pre stage: it runs now without firing again.
            _core.Intercepts.Perform(exit);
            FirePendingPost();
            return true;
        }

        if (!TryClassify(exit, out GuestEventKinds kind, out ulong context, out ulong? newValue, out ulong? oldValue, out int length))
        {
            return false;
        }

        DebugSite before = _core.Debug.Site;
        _core.Debug.Site = DebugSite.Instruction;
        try
        {
            return Fire(exit, length, kind, context, newValue, oldValue);
        }
        finally
        {
            _core.Debug.Site = before;
        }
    }

    private bool Fire(InterceptExit exit, int length, GuestEventKinds kind, ulong context, ulong? newValue, ulong? oldValue)
    {
        long halts = _vm.HaltCount;
        GuestEventExit? pre = _vm.BeginGuestEvent(_core, kind, context, exit.Rip, newValue: newValue, oldValue: oldValue);
        if (_vm.StopRequested)
        {
            return true;
        }

        if (pre is null)
        {
            return false;
        }

        if (pre.SkipInstruction)
        {
            _core.WriteRegister(GuestRegister.Rip, exit.Rip + (ulong)length);
            return true;
        }

        if (_vm.HaltCount != halts)
        {
            // Start again at the instruction (wherever the debugger left RIP): it runs once without firing, then the
            // post stage; a step asked for at the halt starts at the block boundary and executes it.
            _pendingPost = pre.PostStageRequested ? pre : null;
            _passAt = exit.Rip;
            _core.Debug.RestartAt(exit.Rip);
            return true;
        }

        _core.Intercepts.Perform(exit);
        if (pre.PostStageRequested)
        {
            _pendingPost = pre;
            FirePendingPost();
        }

        return true;
    }

    private void FirePendingPost()
    {
        if (_pendingPost is not GuestEventExit post)
        {
            return;
        }

        _pendingPost = null;
        DebugSite before = _core.Debug.Site;
        _core.Debug.Site = DebugSite.Instruction;
        long halts = _vm.HaltCount;
        _vm.EndGuestEvent(post);
        _core.Debug.Site = before;
        if (_vm.HaltCount != halts && !_vm.StopRequested)
        {
            // As after a breakpoint's halt: the block starts again at RIP (a step from here executes the next instruction).
            _core.Debug.RestartAt(null);
        }
    }

    /// <summary>Which event <paramref name="exit"/> is, when one of <see cref="Kinds"/> that is trapped wants it (false:
    /// the model performs it, e.g. an EFER access under <c>!sysret</c>, CLTS or LMSW, a fault that comes first).</summary>
    private bool TryClassify(InterceptExit exit, out GuestEventKinds kind, out ulong context, out ulong? newValue, out ulong? oldValue, out int length)
    {
        kind = default;
        context = 0;
        newValue = null;
        oldValue = null;
        Span<byte> bytes = stackalloc byte[MaxLength];
        int read = _core.ReadVirtual(_core.LinearInstructionPointer(), bytes);
        if (!InstructionWatch.TryDecode(bytes[..read], out InstructionKind decoded, out length, out int register, out int gpr, out bool rex)
            || (rex && _core.CodeBitness() != 64))
        {
            return false;
        }

        ulong cr4 = _core.ReadRegister(GuestRegister.Cr4);
        switch (exit.Kind)
        {
            case InterceptKind.Rdmsr when decoded == InstructionKind.Rdmsr:
                kind = GuestEventKinds.MsrRead;
                context = exit.Msr;
                break;
            case InterceptKind.Wrmsr when decoded == InstructionKind.Wrmsr:
                kind = GuestEventKinds.MsrWrite;
                context = exit.Msr;
                break;
            case InterceptKind.CrWrite when decoded == InstructionKind.MovToCr && register is 0 or 4:
                kind = GuestEventKinds.CrWrite;
                context = (ulong)register;
                newValue = Operand(gpr);
                oldValue = _core.ReadRegister(register == 0 ? GuestRegister.Cr0 : GuestRegister.Cr4);
                break;
            case InterceptKind.DrRead or InterceptKind.DrWrite when decoded is InstructionKind.MovFromDr or InstructionKind.MovToDr
                && !(register is 4 or 5 && (cr4 & (1UL << 3)) != 0):
                kind = GuestEventKinds.DebugRegister;
                newValue = decoded == InstructionKind.MovToDr ? Operand(gpr) : null;
                break;
            case InterceptKind.Rdtsc when decoded == InstructionKind.Rdtsc:
                kind = GuestEventKinds.Tsc;
                break;
            case InterceptKind.Rdpmc when decoded == InstructionKind.Rdpmc && (_core.Context.ReadPrivilegeLevel() == 0 || (cr4 & (1UL << 8)) != 0):
                kind = GuestEventKinds.Pmc;
                break;
            default:
                return false;
        }

        return _vm.Traps(kind);
    }

    /// <summary>The value of general register <paramref name="gpr"/> as a MOV to CR/DR reads it (32 bits outside 64-bit
    /// code).</summary>
    private ulong Operand(int gpr)
    {
        ulong value = _core.ReadRegister(GuestRegister.Rax + gpr);
        return _core.CodeBitness() == 64 ? value : value & uint.MaxValue;
    }
}
