// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// SYSCALL and SYSENTER, which the engine only reports (SDM Vol. 2B, "SYSCALL", "SYSENTER"). SYSCALL in 64-bit and
/// compatibility mode with EFER.SCE: RCX = the next RIP, R11 = RFLAGS, RIP = LSTAR (CSTAR from compatibility mode, as AMD
/// processors do), CS = STAR[47:32] AND FFFCh, SS = STAR[47:32] + 8, RFLAGS AND NOT FMASK, CPL 0. SYSCALL with EFER.SCE
/// clear, or outside long mode, raises #UD. SYSENTER raises #UD: leaf 1 of CPUID does not report SEP, because a
/// 16/32-bit engine cannot load SS from the GDT through its API (its SS writes are real-mode loads), and in 64-bit mode
/// the engine's AMD model raises #UD itself. The return instructions, SYSRETQ and SYSEXIT, are the engine's own.
/// </summary>
internal static class FastSystemCalls
{
    private const uint MsrStar = 0xC000_0081;
    private const uint MsrLstar = 0xC000_0082;
    private const uint MsrCstar = 0xC000_0083;
    private const uint MsrFmask = 0xC000_0084;
    private const ulong EferSce = 1;
    private const ulong EferLma = 1UL << 10;
    private const ulong DescriptorLong = 1UL << 53;
    private const int InvalidOpcode = 6;

    /// <summary>Performs <paramref name="instruction"/> (<paramref name="length"/> bytes ending where the current block
    /// ends) on <paramref name="core"/>, or delivers the #UD it raises.</summary>
    public static void Perform(Vcpu core, EventDelivery events, SystemInstruction instruction, int length)
    {
        IExecutionContext context = core.Context;
        ulong rip = context.CurrentBlockEnd - core.SegmentBase(GuestRegister.Cs) - (ulong)length;
        context.WriteRegister(GuestRegister.Rip, core.Is64Bit ? rip : rip & uint.MaxValue);
        ulong efer = context.ReadRegister(GuestRegister.Efer);
        if (instruction != SystemInstruction.Syscall || !core.Is64Bit || (efer & EferSce) == 0 || (efer & EferLma) == 0)
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

    private static void Emulate(Vcpu core, ulong rip, int length)
    {
        IExecutionContext context = core.Context;
        ushort cs = (ushort)context.ReadRegister(GuestRegister.Cs);
        bool compatibility = Segmentation.TryReadDescriptor(context, core.Machine.Memory, cs, out ulong descriptor) && (descriptor & DescriptorLong) == 0;
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
