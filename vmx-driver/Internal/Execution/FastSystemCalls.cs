// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// SYSCALL and SYSENTER, which the engine only reports (SDM Vol. 2B, "SYSCALL", "SYSENTER"). SYSCALL in 64-bit and
/// compatibility mode with EFER.SCE: RCX = the next RIP, R11 = RFLAGS, RIP = LSTAR (CSTAR from compatibility mode, as AMD
/// processors do), CS = STAR[47:32] AND FFFCh, SS = STAR[47:32] + 8, RFLAGS AND NOT FMASK, CPL 0. SYSCALL with EFER.SCE
/// clear, or outside long mode, raises #UD. SYSENTER in 16/32-bit protected mode loads the flat ring-0 CS and SS through
/// the segment loader (<see cref="PerformSysenter"/>); in long mode it raises #UD (the engine's AMD model). The return
/// instructions, SYSRET and SYSEXIT, are the engine's own, except
/// while <c>!sysret</c> is set (HyperDbg's EFER hook): then the engine's EFER.SCE is hidden, its SYSRET raises #UD and
/// <see cref="TryPerformSysret"/> performs it (SDM Vol. 2B, "SYSRET").
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
    private const ulong DescriptorLong = 1UL << 53;
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
    /// (<c>0F 07</c>, with REX.W for SYSRETQ, after any prefixes), performs it as the SDM says and fires the
    /// <see cref="GuestEventKinds.Sysret"/> event around it (the context is RIP); true when it was a SYSRET, whatever it
    /// raised. The guest's own EFER.SCE clear, or compatibility mode: #UD; CPL above 0, or SYSRETQ with a non-canonical
    /// RCX: #GP(0). SYSRET to compatibility mode (without REX.W) stops the VM with a report: the engine's API cannot load
    /// a 32-bit CS (its segment writes change only the selector in a 64-bit engine).
    /// </summary>
    public static bool TryPerformSysret(Vcpu core, EventDelivery events)
    {
        IExecutionContext context = core.Context;
        if (!context.SyscallEnableHidden || !context.Is64Bit)
        {
            return false;
        }

        ulong rip = context.ReadRegister(GuestRegister.Rip);
        Span<byte> bytes = stackalloc byte[MaxPrefixes + 2];
        int read = core.ReadVirtual(core.SegmentBase(GuestRegister.Cs) + rip, bytes);
        if (!TryDecodeSysret(bytes[..read], out int length, out bool rexW))
        {
            return false;
        }

        ulong efer = context.ReadRegister(GuestRegister.Efer);
        if ((efer & EferSce) == 0 || (efer & EferLma) == 0 || Segmentation.CodeBitness(context, true) != 64)
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

        if (!rexW)
        {
            core.Fail($"core {core.Index}: SYSRET to compatibility mode at RIP 0x{rip:X} (under !sysret) cannot be performed: "
                + "the CPU engine cannot load a 32-bit code segment through its API.");
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
            EmulateSysret(core);
        }

        context.ExceptionDelivered();
        core.Machine.EndGuestEvent(exit);
        return true;
    }

    /// <summary>SYSRET at the start of <paramref name="bytes"/>: legacy prefixes, at most one REX right before
    /// <c>0F 07</c>.</summary>
    internal static bool TryDecodeSysret(ReadOnlySpan<byte> bytes, out int length, out bool rexW)
    {
        length = 0;
        rexW = false;
        int i = 0;
        while (i < bytes.Length && i < MaxPrefixes && bytes[i] is 0x26 or 0x2E or 0x36 or 0x3E or 0x64 or 0x65 or 0x66 or 0x67 or 0xF0 or 0xF2 or 0xF3)
        {
            i++;
        }

        if (i < bytes.Length && bytes[i] is >= 0x40 and <= 0x4F)
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

    /// <summary>SYSRETQ (SDM Vol. 2B): RIP = RCX, RFLAGS = (R11 AND 3C7FD7h) OR 2, CS = STAR[63:48] + 16 OR 3,
    /// SS = STAR[63:48] + 8 OR 3, CPL 3. RSP is unchanged.</summary>
    private static void EmulateSysret(Vcpu core)
    {
        IExecutionContext context = core.Context;
        ulong selector = context.ReadMsr(MsrStar) >> 48;
        context.WriteRegister(GuestRegister.Rflags, (context.ReadRegister(GuestRegister.R11) & SysretFlagsMask) | 2);
        context.SetPrivilegeLevel(3);
        context.WriteRegister(GuestRegister.Cs, ((selector + 16) | 3) & 0xFFFF);
        context.WriteRegister(GuestRegister.Ss, ((selector + 8) | 3) & 0xFFFF);
        context.WriteRegister(GuestRegister.Rip, context.ReadRegister(GuestRegister.Rcx));
    }

    private static void Emulate(Vcpu core, ulong rip, int length)
    {
        IExecutionContext context = core.Context;
        ushort cs = (ushort)context.ReadRegister(GuestRegister.Cs);
        bool compatibility = Segmentation.TryReadDescriptor(core, cs, out ulong descriptor) && (descriptor & DescriptorLong) == 0;
        ulong next = rip + (ulong)length;
        ulong star = context.ReadMsr(MsrStar);
        ulong flags = context.ReadRegister(GuestRegister.Rflags);
        ulong selector = (star >> 32) & 0xFFFF;
        context.WriteRegister(GuestRegister.Rcx, compatibility ? next & uint.MaxValue : next);
        context.WriteRegister(GuestRegister.R11, flags);
        context.SetPrivilegeLevel(0);
        context.WriteRegister(GuestRegister.Cs, selector & 0xFFFC);
        context.WriteRegister(GuestRegister.Ss, (selector + 8) & 0xFFFF);
        context.WriteRegister(GuestRegister.Rflags, (flags & ~context.ReadMsr(MsrFmask)) | 2);
        context.WriteRegister(GuestRegister.Rip, context.ReadMsr(compatibility ? MsrCstar : MsrLstar));
    }
}
