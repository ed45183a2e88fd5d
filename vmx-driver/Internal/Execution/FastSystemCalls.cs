// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// SYSCALL and SYSENTER, which the engine only reports (SDM Vol. 2B, "SYSCALL", "SYSENTER"; AMD APM Vol. 3). SYSCALL in
/// 64-bit and compatibility mode with EFER.SCE: RCX = the next RIP, R11 = RFLAGS, RIP = LSTAR (CSTAR from compatibility
/// mode, as AMD processors do: CPUID's vendor and the engine's model are AMD's), CS = STAR[47:32] AND FFFCh (flat 64-bit
/// code) and SS = STAR[47:32] + 8 (flat data), both of DPL 0 and loaded whole by the segment loader, RFLAGS AND NOT
/// FMASK, CPL 0. SYSCALL with EFER.SCE clear, or outside long mode, raises #UD. SYSENTER in 16/32-bit protected mode
/// loads the flat ring-0 CS and SS through the segment loader (<see cref="PerformSysenter"/>); in long mode it raises #UD
/// (AMD's rule, the engine's model). The return instructions, SYSRET and SYSEXIT, are the engine's own, except while
/// <c>!sysret</c> is set (HyperDbg's EFER hook): then the engine's EFER.SCE is hidden, its SYSRET raises #UD and
/// <see cref="TryPerformSysret"/> performs it, to 64-bit code or to compatibility mode (SDM Vol. 2B, "SYSRET").
/// </summary>
internal static class FastSystemCalls
{
    private const uint MsrStar = 0xC000_0081;
    private const uint MsrLstar = 0xC000_0082;
    private const uint MsrCstar = 0xC000_0083;
    private const uint MsrFmask = 0xC000_0084;
    private const uint MsrSysenterCs = 0x174;
    private const uint MsrSysenterEsp = 0x175;
    private const uint MsrSysenterEip = 0x176;
    private const ulong Cr0Pe = 1;
    private const ulong FlagIf = 1UL << 9;
    private const ulong FlagRf = 1UL << 16;
    private const ulong FlagVm = 1UL << 17;
    private const ulong EferSce = 1;
    private const ulong EferLma = 1UL << 10;
    private const int InvalidOpcode = 6;
    private const int GeneralProtection = 13;
    private const int MaxPrefixes = 14;

    /// <summary>RFLAGS bits SYSRET takes from R11 (RF, VM and the reserved bits clear; bit 1 set).</summary>
    private const ulong SysretFlagsMask = 0x3C7FD7;

    /// <summary>Performs <paramref name="instruction"/> (<paramref name="length"/> bytes ending where the current block
    /// ends) on <paramref name="core"/>, or delivers the #UD it raises.</summary>
    public static void Perform(Vcpu core, EventDelivery events, SystemInstruction instruction, int length)
    {
        IExecutionContext context = core.Context;
        ulong rip = context.CurrentBlockEnd - core.SegmentBase(GuestRegister.Cs) - (ulong)length;
        context.WriteRegister(GuestRegister.Rip, core.Is64Bit ? rip : rip & uint.MaxValue);
        ulong efer = context.ReadRegister(GuestRegister.Efer);
        if (instruction == SystemInstruction.Sysenter)
        {
            PerformSysenter(core, events, efer);
            return;
        }

        if (!core.Is64Bit || (efer & EferSce) == 0 || (efer & EferLma) == 0)
        {
            events.DeliverFault(InvalidOpcode, null);
            return;
        }

        // HyperDbg's !syscall: the pre stage sees RIP at the instruction and the system call number in RAX; skipping it
        // continues after the instruction with nothing done; the post stage sees the handler's entry.
        GuestEventExit? exit = core.Machine.BeginGuestEvent(core, GuestEventKinds.Syscall, context.ReadRegister(GuestRegister.Rax), rip);
        if (exit is { SkipInstruction: true })
        {
            context.WriteRegister(GuestRegister.Rip, rip + (ulong)length);
        }
        else
        {
            Emulate(core, rip, length);
        }

        core.Machine.EndGuestEvent(exit);
    }

    /// <summary>
    /// SYSENTER (SDM Vol. 2B, "SYSENTER"), RIP at the instruction: #UD in long mode (the engine's AMD model: in 64-bit
    /// mode the engine raises it before the hook, in compatibility mode the driver does); #GP(0) when
    /// IA32_SYSENTER_CS[15:2] is 0 (real mode: the engine raises #GP itself); otherwise CS = SYSENTER_CS AND FFFCh and
    /// SS = SYSENTER_CS + 8, flat 4-GiB ring-0 segments (code execute/read, data read/write, both 32-bit), CPL 0,
    /// ESP = IA32_SYSENTER_ESP, EIP = IA32_SYSENTER_EIP, and VM, IF and RF cleared. Nothing is pushed: the return,
    /// SYSEXIT, is the engine's own (QEMU's <c>helper_sysexit</c>, to flat ring-3 segments at SYSENTER_CS + 16 and + 24).
    /// </summary>
    private static void PerformSysenter(Vcpu core, EventDelivery events, ulong efer)
    {
        IExecutionContext context = core.Context;
        if ((efer & EferLma) != 0)
        {
            events.DeliverFault(InvalidOpcode, null);
            return;
        }

        ulong cs = context.ReadMsr(MsrSysenterCs) & 0xFFFF;
        if ((cs & 0xFFFC) == 0 || (context.ReadRegister(GuestRegister.Cr0) & Cr0Pe) == 0)
        {
            events.DeliverFault(GeneralProtection, 0);
            return;
        }

        ulong flags = context.ReadRegister(GuestRegister.Rflags);
        context.LoadSegment(GuestRegister.Cs, SegmentCache.Flat((ushort)(cs & 0xFFFC), code: true, dpl: 0));
        context.LoadSegment(GuestRegister.Ss, SegmentCache.Flat((ushort)((cs + 8) & 0xFFFC), code: false, dpl: 0)); // CPL 0
        context.WriteRegister(GuestRegister.Rflags, flags & ~(FlagVm | FlagIf | FlagRf));
        context.WriteRegister(GuestRegister.Rsp, context.ReadMsr(MsrSysenterEsp) & uint.MaxValue);
        context.WriteRegister(GuestRegister.Rip, context.ReadMsr(MsrSysenterEip) & uint.MaxValue);
    }

    /// <summary>
    /// The #UD the engine raised at RIP while EFER.SCE is hidden from it: when the instruction there is SYSRET
    /// (<c>0F 07</c>, after any prefixes; in 64-bit code REX.W makes it SYSRETQ), performs it as the SDM and the AMD APM
    /// say and fires the <see cref="GuestEventKinds.Sysret"/> event around it (the context is RIP); true when it was a
    /// SYSRET, whatever it raised. The guest's own EFER.SCE clear: #UD; CPL above 0, or SYSRETQ with a non-canonical
    /// RCX: #GP(0). SYSRET executed in compatibility mode is performed like any other: the CPU is AMD's (CPUID's vendor
    /// and the engine's model), whose SYSRET raises #UD only for EFER.SCE (the Intel SDM's SYSRET raises #UD outside
    /// 64-bit code), and the engine's own SYSRET does the same when <c>!sysret</c> is not set, so the debugger changes
    /// nothing the guest sees.
    /// </summary>
    public static bool TryPerformSysret(Vcpu core, EventDelivery events)
    {
        IExecutionContext context = core.Context;
        if (!context.SyscallEnableHidden || !context.Is64Bit)
        {
            return false;
        }

        bool compatibility = Segmentation.IsCompatibilityMode(context, true);
        ulong rip = context.ReadRegister(GuestRegister.Rip);
        Span<byte> bytes = stackalloc byte[MaxPrefixes + 2];
        int read = core.ReadVirtual(core.SegmentBase(GuestRegister.Cs) + rip, bytes);
        if (!TryDecodeSysret(bytes[..read], out int length, out bool rexW, rexAllowed: !compatibility))
        {
            return false;
        }

        ulong efer = context.ReadRegister(GuestRegister.Efer);
        if ((efer & EferSce) == 0 || (efer & EferLma) == 0)
        {
            events.DeliverFault(InvalidOpcode, null);
            context.ExceptionDelivered();
            return true;
        }

        ulong rcx = context.ReadRegister(GuestRegister.Rcx);
        if (context.ReadPrivilegeLevel() != 0 || (rexW && !IsCanonical(rcx)))
        {
            events.DeliverFault(GeneralProtection, 0);
            context.ExceptionDelivered();
            return true;
        }

        // HyperDbg's !sysret: the pre stage sees RIP at the SYSRET (the context); skipping it goes on after the instruction
        // with nothing done; the post stage sees ring 3.
        GuestEventExit? exit = core.Machine.BeginGuestEvent(core, GuestEventKinds.Sysret, rip, rip);
        if (exit is { SkipInstruction: true })
        {
            context.WriteRegister(GuestRegister.Rip, rip + (ulong)length);
        }
        else
        {
            EmulateSysret(core, rexW);
        }

        context.ExceptionDelivered();
        core.Machine.EndGuestEvent(exit);
        return true;
    }

    /// <summary>SYSRET at the start of <paramref name="bytes"/>: legacy prefixes, then (64-bit code only,
    /// <paramref name="rexAllowed"/>) at most one REX right before <c>0F 07</c>. In compatibility mode 40h–4Fh are
    /// INC/DEC instructions, not prefixes.</summary>
    internal static bool TryDecodeSysret(ReadOnlySpan<byte> bytes, out int length, out bool rexW, bool rexAllowed = true)
    {
        length = 0;
        rexW = false;
        int i = 0;
        while (i < bytes.Length && i < MaxPrefixes && bytes[i] is 0x26 or 0x2E or 0x36 or 0x3E or 0x64 or 0x65 or 0x66 or 0x67 or 0xF0 or 0xF2 or 0xF3)
        {
            i++;
        }

        if (rexAllowed && i < bytes.Length && bytes[i] is >= 0x40 and <= 0x4F)
        {
            rexW = (bytes[i] & 8) != 0;
            i++;
        }

        if (i + 2 > bytes.Length || bytes[i] != 0x0F || bytes[i + 1] != 0x07)
        {
            return false;
        }

        length = i + 2;
        return true;
    }

    private static bool IsCanonical(ulong address) => (ulong)((long)(address << 16) >> 16) == address;

    /// <summary>
    /// SYSRET (SDM Vol. 2B, "SYSRET"; AMD APM Vol. 3, "SYSRET"), at CPL 0 in long mode: RFLAGS = (R11 AND 3C7FD7h) OR 2;
    /// with REX.W (SYSRETQ) RIP = RCX and CS = STAR[63:48] + 16 OR 3, a flat 64-bit code segment; otherwise, to
    /// compatibility mode, RIP = ECX (zero-extended) and CS = STAR[63:48] OR 3, a flat 32-bit code segment; both with
    /// SS = STAR[63:48] + 8 OR 3, a flat 32-bit data segment, all of DPL 3 (so CPL 3). RSP is unchanged. CS and SS get
    /// their whole hidden parts through the segment loader (SS last: its DPL sets the CPL).
    /// </summary>
    private static void EmulateSysret(Vcpu core, bool rexW)
    {
        IExecutionContext context = core.Context;
        ushort selector = (ushort)(context.ReadMsr(MsrStar) >> 48);
        ulong rcx = context.ReadRegister(GuestRegister.Rcx);
        context.WriteRegister(GuestRegister.Rflags, (context.ReadRegister(GuestRegister.R11) & SysretFlagsMask) | 2);
        context.LoadSegment(GuestRegister.Cs, rexW
            ? SegmentCache.FlatLong((ushort)((selector + 16) | 3), dpl: 3)
            : SegmentCache.Flat((ushort)(selector | 3), code: true, dpl: 3));
        context.LoadSegment(GuestRegister.Ss, SegmentCache.Flat((ushort)((selector + 8) | 3), code: false, dpl: 3));
        context.WriteRegister(GuestRegister.Rip, rexW ? rcx : rcx & uint.MaxValue);
    }

    /// <summary>
    /// SYSCALL in long mode (SDM Vol. 2B, "SYSCALL"; AMD APM Vol. 3, "SYSCALL"): RCX = the next RIP, R11 = RFLAGS,
    /// CS = STAR[47:32] AND FFFCh, a flat 64-bit code segment of DPL 0, SS = STAR[47:32] + 8, a flat 32-bit data segment
    /// of DPL 0 (CPL 0), both loaded whole by the segment loader, RFLAGS AND NOT FMASK, RIP = LSTAR, or CSTAR from
    /// compatibility mode (AMD's rule: the Intel SDM's SYSCALL raises #UD outside 64-bit code, but our CPU is AMD's, as
    /// CPUID's vendor and the engine's model say).
    /// </summary>
    private static void Emulate(Vcpu core, ulong rip, int length)
    {
        IExecutionContext context = core.Context;
        bool compatibility = Segmentation.IsCompatibilityMode(context, core.Is64Bit);
        ulong next = rip + (ulong)length;
        ulong star = context.ReadMsr(MsrStar);
        ulong flags = context.ReadRegister(GuestRegister.Rflags);
        ushort selector = (ushort)(star >> 32);
        context.WriteRegister(GuestRegister.Rcx, compatibility ? next & uint.MaxValue : next);
        context.WriteRegister(GuestRegister.R11, flags);
        context.LoadSegment(GuestRegister.Cs, SegmentCache.FlatLong((ushort)(selector & 0xFFFC), dpl: 0));
        context.LoadSegment(GuestRegister.Ss, SegmentCache.Flat((ushort)(selector + 8), code: false, dpl: 0)); // CPL 0
        context.WriteRegister(GuestRegister.Rflags, (flags & ~context.ReadMsr(MsrFmask)) | 2);
        context.WriteRegister(GuestRegister.Rip, context.ReadMsr(compatibility ? MsrCstar : MsrLstar));
    }
}
