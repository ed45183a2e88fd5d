// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;
using Iced.Intel;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// One core's instruction intercepts (<see cref="IExecutionContext.SetIntercepts"/>) and their exits: the platform's
/// own (RDMSR/WRMSR of an MSR <see cref="MsrCatalog"/> does not list raises #GP(0), as hardware does) and those a
/// requester adds (<see cref="Request"/>: the cheap trigger of HyperDbg's instruction events, e.g. <c>!msrread</c>,
/// <c>!msrwrite</c>, <c>!crwrite</c>, <c>!dr</c>, <c>!tsc</c>, <c>!pmc</c>). At an exit (RIP at the instruction, which has
/// not run) the requester's handler runs first when its set covers the exit; when it does not perform the instruction,
/// the model does: MSRs through the engine (or the platform's TSC MSR), MOV to/from CRn/DRn and CLTS through the
/// registers (LMSW and CLTS as CR0 writes), RDTSC from the guest's TSC, RDPMC as <see cref="Rdpmc"/> defines it.
/// Everything runs on the core's thread.
/// </summary>
internal sealed partial class CoreIntercepts
{
    private const int GeneralProtection = 13;
    private const int InvalidOpcode = 6;
    private const int DebugException = 1;
    private const ulong FlagRf = 1UL << 16;
    private const ulong Cr4De = 1UL << 3;
    private const ulong Cr4Pce = 1UL << 8;

    private readonly Vcpu _core;
    private readonly EventDelivery _events;
    private InstructionIntercepts _requested = InstructionIntercepts.None;
    private Func<InterceptExit, bool>? _handler;

    public CoreIntercepts(Vcpu core, EventDelivery events)
    {
        _core = core;
        _events = events;
    }

    /// <summary>The platform's intercepts: every MSR the engine does not implement (<see cref="MsrCatalog"/>): those the
    /// platform implements are performed here, the others raise #GP(0); RDPMC, which the engine does not implement
    /// (it raises #UD): the platform performs it (<see cref="Rdpmc"/>); and every MOV to or from DR0–DR7, which the
    /// model performs on its own copy of the debug registers (<see cref="GuestDebugRegisters"/>: the engine's MOV to
    /// DR7 would arm its breakpoint machinery, which kills the process).</summary>
    public static InstructionIntercepts Platform { get; } = new() { Msrs = MsrPermissionMap.AllExcept(MsrCatalog.Engine), Rdpmc = true, DrReads = 0xFF, DrWrites = 0xFF };

    /// <summary>The performance counters RDPMC reads: AMD's four legacy counters (PerfCtr0–3; APM Vol. 3 RDPMC: ECX 0–3
    /// without PerfCtrExtCore, which CPUID 80000001h ECX bit 23 does not offer, and no Intel leaf 0Ah: the highest basic
    /// leaf is 1). The platform has no performance events (PerfEvtSel0–3 are not among its MSRs, so nothing can start a
    /// counter): each reads 0.</summary>
    public const uint PerformanceCounters = 4;

    /// <summary>Exits taken so far (a progress counter for tests and benchmarks).</summary>
    public long Exits { get; private set; }

    /// <summary>Per-core TSC adjustment written by WRMSR to IA32_TIME_STAMP_COUNTER, on top of the VM's offset.</summary>
    public long TscAdjust { get; private set; }

    /// <summary>
    /// Adds <paramref name="intercepts"/> to the platform's (replacing an earlier request) and sets the handler that
    /// sees their exits first: it returns true when it performed (or skipped) the instruction and left RIP where
    /// execution continues, false to let the model perform it. <see cref="InstructionIntercepts.None"/> and null end
    /// the request. Call it on the core's thread (or while the core waits).
    /// </summary>
    /// <example><c>core.Intercepts.Request(new InstructionIntercepts { CrWrites = 1 &lt;&lt; 3 }, exit =&gt; { Report(exit.Rip); return false; })</c>:
    /// the handler sees each MOV to CR3 before it runs, then the model performs it.</example>
    public void Request(InstructionIntercepts intercepts, Func<InterceptExit, bool>? handler)
    {
        ArgumentNullException.ThrowIfNull(intercepts);
        _requested = intercepts;
        _handler = handler;
        Apply();
    }

    /// <summary>Puts the platform's and the requested intercepts into the engine.</summary>
    /// <remarks>With a guest time base (<see cref="VirtualMachine.Clock"/>) RDTSC is intercepted too: the guest's TSC
    /// is read from that clock (<see cref="Vcpu.ReadGuestTsc"/>). While the guest has a data breakpoint enabled, MOV to
    /// CR0, CR3 and CR4 and INVLPG are too (<see cref="GuestBreakpoints.PagingIntercepts"/>): its page follows the
    /// guest's paging.</remarks>
    public void Apply() => _core.Context.SetIntercepts(Platform.Union(_requested).Union(_core.Machine.Clock is null ? InstructionIntercepts.None : TimeBase)
        .Union(_core.GuestBreakpoints.PagingIntercepts));

    /// <summary>The intercept a guest time base adds: RDTSC reads the clock.</summary>
    private static InstructionIntercepts TimeBase { get; } = new() { Rdtsc = true };

    /// <summary>From the engine (<see cref="IExecutionCallbacks.OnIntercept"/>): the handler, then the model.</summary>
    public void OnExit(InterceptExit exit)
    {
        Exits++;
        exit = Refine(exit);
        if (_handler is { } handler && _requested.Covers(exit) && handler(exit))
        {
            return;
        }

        Perform(exit);
    }

    /// <summary>
    /// Performs the intercepted instruction <paramref name="exit"/> (RIP at it) as the platform defines it, leaving RIP
    /// after it or at the handler of the fault it raised; for a requester's handler that wants to act after the
    /// instruction (and then returns true).
    /// </summary>
    public void Perform(InterceptExit exit)
    {
        Span<byte> bytes = stackalloc byte[15];
        int read = _core.ReadVirtual(_core.LinearInstructionPointer(), bytes);
        bool longMode = _core.CodeBitness() == 64;
        int prefixes = PrefixLength(bytes[..read], longMode);
        ReadOnlySpan<byte> opcode = bytes[prefixes..read];
        byte rex = longMode && prefixes > 0 && bytes[prefixes - 1] is >= 0x40 and <= 0x4F ? bytes[prefixes - 1] : (byte)0;
        PerformDecoded(Refine(exit), opcode, prefixes, rex);
    }

    /// <summary>The engine reports RDMSR and WRMSR alike: the opcode at RIP tells which.</summary>
    private InterceptExit Refine(InterceptExit exit)
    {
        if (exit.Kind != InterceptKind.Msr)
        {
            return exit;
        }

        Span<byte> bytes = stackalloc byte[15];
        int read = _core.ReadVirtual(_core.LinearInstructionPointer(), bytes);
        int prefixes = PrefixLength(bytes[..read], _core.CodeBitness() == 64);
        return exit with { Kind = bytes[prefixes..read] is [0x0F, 0x30, ..] ? InterceptKind.Wrmsr : InterceptKind.Rdmsr };
    }

    /// <summary>Legacy prefixes, and REX in 64-bit code, before the opcode.</summary>
    internal static int PrefixLength(ReadOnlySpan<byte> bytes, bool longMode)
    {
        int i = 0;
        while (i < bytes.Length && (bytes[i] is 0x26 or 0x2E or 0x36 or 0x3E or 0x64 or 0x65 or 0x66 or 0x67 or 0xF0 or 0xF2 or 0xF3 || (longMode && bytes[i] is >= 0x40 and <= 0x4F)))
        {
            i++;
        }

        return i;
    }

    private void PerformDecoded(InterceptExit exit, ReadOnlySpan<byte> opcode, int prefixes, byte rex)
    {
        IExecutionContext context = _core.Context;
        switch (exit.Kind)
        {
            case InterceptKind.Rdmsr:
            case InterceptKind.Wrmsr:
                if (!MsrCatalog.IsImplemented(exit.Msr))
                {
                    _events.DeliverFault(GeneralProtection, 0);
                    return;
                }

                if (exit.Kind == InterceptKind.Rdmsr)
                {
                    ulong value = exit.Msr == MsrCatalog.TimeStampCounter ? _core.ReadGuestTsc() : context.ReadMsr(exit.Msr);
                    _core.WriteRegister(GuestRegister.Rax, value & uint.MaxValue);
                    _core.WriteRegister(GuestRegister.Rdx, value >> 32);
                }
                else
                {
                    ulong value = (_core.ReadRegister(GuestRegister.Rdx) << 32) | (uint)_core.ReadRegister(GuestRegister.Rax);
                    if (exit.Msr == MsrCatalog.TimeStampCounter)
                    {
                        TscAdjust += (long)(value - _core.ReadGuestTsc());
                        _core.SyncTsc();
                    }
                    else
                    {
                        context.WriteMsr(exit.Msr, value);
                    }
                }

                Skip(exit, prefixes + 2);
                return;
            case InterceptKind.Rdtsc:
                ulong tsc = _core.ReadGuestTsc();
                _core.WriteRegister(GuestRegister.Rax, tsc & uint.MaxValue);
                _core.WriteRegister(GuestRegister.Rdx, tsc >> 32);
                Skip(exit, prefixes + 2);
                return;
            case InterceptKind.Rdpmc:
                Rdpmc(exit, prefixes);
                return;
            case InterceptKind.CrRead or InterceptKind.CrWrite or InterceptKind.DrRead or InterceptKind.DrWrite:
                MoveControlOrDebug(exit, opcode, prefixes, rex);
                return;
            case InterceptKind.Invlpg:
                // The engine's TLB is dropped whole (more than the one page: allowed, SDM Vol. 3A 4.10.4.1), then the
                // guest's data breakpoints are resolved again.
                context.FlushTlb();
                _core.GuestBreakpoints.PagingChanged();
                Skip(exit, _core.DecodeCurrentInstruction().Length);
                return;
            default:
                _core.Fail($"core {_core.Index}: SVM exit 0x{exit.ExitCode:X} at RIP 0x{exit.Rip:X} was not requested");
                return;
        }
    }

    /// <summary>MOV to/from CRn/DRn (0F 20–23 /r: reg = the register, r/m = the general register, mod ignored) and CLTS
    /// (0F 06), LMSW (0F 01 /6) and SMSW (0F 01 /4: SVM intercepts it as a CR0 read, APM Vol. 2 15.9).</summary>
    private void MoveControlOrDebug(InterceptExit exit, ReadOnlySpan<byte> opcode, int prefixes, byte rex)
    {
        if (opcode is [0x0F, 0x06, ..])
        {
            _core.WriteRegister(GuestRegister.Cr0, _core.ReadRegister(GuestRegister.Cr0) & ~8UL);
            Skip(exit, prefixes + 2);
            return;
        }

        switch (opcode)
        {
            case [0x0F, 0x01, byte group, ..] when ((group >> 3) & 7) == 4:
                Smsw(exit);
                return;
            case [0x0F, 0x01, byte group, ..] when ((group >> 3) & 7) == 6:
                Lmsw(exit);
                return;
        }

        if (opcode is not [0x0F, >= 0x20 and <= 0x23, byte modrm, ..])
        {
            _core.Fail($"core {_core.Index}: intercepted {exit.Kind} {exit.Index} at RIP 0x{exit.Rip:X} is not a MOV, CLTS, LMSW or SMSW");
            return;
        }

        if (exit.Kind is InterceptKind.DrRead or InterceptKind.DrWrite && exit.Index is 4 or 5 && (_core.ReadRegister(GuestRegister.Cr4) & Cr4De) != 0)
        {
            _events.DeliverFault(InvalidOpcode, null); // SDM Vol. 3A 18.2.2: DR4/DR5 with CR4.DE
            return;
        }

        if (exit.Kind is InterceptKind.DrRead or InterceptKind.DrWrite && (_core.DebugRegisters.Dr7 & GuestDebugRegisters.Dr7GeneralDetect) != 0)
        {
            // SDM Vol. 3B 18.2.4: general detect, a fault with RIP at the MOV, which does not execute; before the #GP of
            // a DR6/DR7 value with upper bits set. With !dr the event came first, as HyperDbg's MOV DR exit handler
            // injects the general-detect #DB after its event.
            _core.DebugRegisters.TakeGeneralDetect();
            _events.DeliverFault(DebugException, null);
            return;
        }

        bool longMode = _core.CodeBitness() == 64;
        int gpr = (modrm & 7) | ((rex & 1) << 3);
        GuestRegister general = GuestRegister.Rax + gpr;
        GuestRegister special = exit.Kind is InterceptKind.CrRead or InterceptKind.CrWrite ? ControlRegister(exit.Index) : DebugRegister(exit.Index);
        if (exit.Kind is InterceptKind.CrRead or InterceptKind.DrRead)
        {
            ulong value = _core.ReadRegister(special);
            _core.WriteRegister(general, longMode ? value : value & uint.MaxValue);
        }
        else
        {
            ulong value = _core.ReadRegister(general);
            if (special is GuestRegister.Dr6 or GuestRegister.Dr7 && longMode && (value >> 32) != 0)
            {
                _events.DeliverFault(GeneralProtection, 0); // SDM Vol. 2B MOV DR: 64-bit mode, upper 32 bits of DR6/DR7 set
                return;
            }

            _core.WriteRegister(special, longMode ? value : value & uint.MaxValue);
        }

        Skip(exit, prefixes + 3);
    }

    /// <summary>
    /// RDPMC as hardware performs it (SDM Vol. 2B and APM Vol. 3, RDPMC): #GP(0) at CPL above 0 with CR4.PCE clear, and
    /// for a counter index (ECX) the CPU does not have (<see cref="PerformanceCounters"/>); otherwise EDX:EAX = the
    /// counter (0: the platform counts no events) and the upper halves of RAX and RDX cleared.
    /// </summary>
    private void Rdpmc(InterceptExit exit, int prefixes)
    {
        bool pce = (_core.ReadRegister(GuestRegister.Cr4) & Cr4Pce) != 0;
        uint index = (uint)_core.ReadRegister(GuestRegister.Rcx);
        if ((!pce && _core.Context.ReadPrivilegeLevel() != 0) || index >= PerformanceCounters)
        {
            _events.DeliverFault(GeneralProtection, 0);
            return;
        }

        _core.WriteRegister(GuestRegister.Rax, 0);
        _core.WriteRegister(GuestRegister.Rdx, 0);
        Skip(exit, prefixes + 2);
    }

    private static GuestRegister ControlRegister(int n) => n switch
    {
        0 => GuestRegister.Cr0,
        2 => GuestRegister.Cr2,
        3 => GuestRegister.Cr3,
        4 => GuestRegister.Cr4,
        8 => GuestRegister.Cr8,
        _ => throw new InvalidOperationException($"CR{n} does not exist on the engine's CPU (it raises #UD before any intercept)"),
    };

    private static GuestRegister DebugRegister(int n) => n switch
    {
        0 => GuestRegister.Dr0,
        1 => GuestRegister.Dr1,
        2 => GuestRegister.Dr2,
        3 => GuestRegister.Dr3,
        4 or 6 => GuestRegister.Dr6,
        _ => GuestRegister.Dr7,
    };

    /// <summary>Completes the performed instruction: RIP after it and RFLAGS.RF clear (SDM Vol. 3B 18.3.1.1: the
    /// processor clears RF once an instruction completes; the engine would only at the end of the block, which the exit
    /// leaves, and the block that starts after the instruction would take a left-over RF as the guest's).</summary>
    private void Skip(InterceptExit exit, int length)
    {
        ulong flags = _core.ReadRegister(GuestRegister.Rflags);
        if ((flags & FlagRf) != 0)
        {
            _core.WriteRegister(GuestRegister.Rflags, flags & ~FlagRf);
        }

        _core.WriteRegister(GuestRegister.Rip, exit.Rip + (ulong)length);
    }
}
