// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// The one place that decides whether a core calls back every instruction for the driver's own sake, and that looks at
/// each instruction then: HyperDbg's <c>!mode</c> (<see cref="GuestEventKinds.Mode"/>) needs the first instruction after a
/// CPL change, and the engine has neither a callback nor an intercept for a CPL change, so while <c>!mode</c> is trapped
/// the single-step hook is on and <see cref="OnInstruction"/> compares the CPL with the last instruction's. The other
/// instruction events are on the engine's intercepts (<see cref="InstructionEventIntercepts"/>) and cost nothing here;
/// <see cref="TryDecode"/> serves them. A guest without <c>!mode</c> runs without the hook.
/// </summary>
internal sealed class InstructionWatch
{
    private const int UserMode = 3;
    private const int KernelMode = 0;
    private const int MaxLength = 15;

    private readonly Vcpu _core;
    private readonly VirtualMachine _vm;
    private int? _lastMode;

    public InstructionWatch(Vcpu core)
    {
        _core = core;
        _vm = core.Machine;
    }

    /// <summary>SYSRET is trapped and the core can run long-mode code (HyperDbg's EFER hook applies to it; its RDMSR and
    /// WRMSR of EFER are intercepted: <see cref="InstructionEventIntercepts"/>).</summary>
    public static bool HidesSyscallEnable(Vcpu core) => core.Is64Bit && core.Machine.HidesSyscallEnable;

    /// <summary>Whether <paramref name="core"/> must call back every instruction for the driver (<c>!mode</c>).</summary>
    public static bool IsWanted(Vcpu core) => core.Machine.Traps(GuestEventKinds.Mode);

    /// <summary>Instructions looked at so far (a progress counter for tests and benchmarks: zero while only events on
    /// the intercepts are set).</summary>
    public long Watched { get; private set; }

    /// <summary>Called when the hooks are applied: a mode watch starts from the mode the core is in then.</summary>
    public void Reset()
    {
        _lastMode = null;
    }

    /// <summary>The instruction at <paramref name="address"/> is about to execute (the debugger's checks passed).</summary>
    public void OnInstruction(ulong address)
    {
        Watched++;
        if (!_vm.Traps(GuestEventKinds.Mode))
        {
            _lastMode = null; // a !mode set later starts from the mode the core is in then
        }
        else
        {
            _ = ModeChanged(address);
        }
    }

    /// <summary>HyperDbg's execution trap: the first instruction in user mode after kernel mode, or the reverse; true
    /// when the block was restarted.</summary>
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

    private GuestEventExit? Begin(GuestEventKinds kind, ulong context, out bool halted)
    {
        CoreDebug debug = _core.Debug;
        DebugSite before = debug.Site;
        debug.Site = DebugSite.Instruction;
        long halts = _vm.HaltCount;
        GuestEventExit? exit = _vm.BeginGuestEvent(_core, kind, context, _core.Context.ReadRegister(GuestRegister.Rip));
        halted = _vm.HaltCount != halts;
        debug.Site = before;
        return exit;
    }

    /// <summary>
    /// The instructions the instruction events look for (<see cref="InstructionEventIntercepts"/>), at the start of <paramref name="bytes"/> after legacy prefixes and at most
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
