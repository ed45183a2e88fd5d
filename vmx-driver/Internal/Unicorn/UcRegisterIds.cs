// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>
/// The Unicorn register id of a <see cref="GuestRegister"/> in an engine of a given width. Ids are mode-specific: a
/// 16/32-bit engine refuses the 64-bit ids (2.0.1 ignored them silently), so its registers are read by their 32-bit
/// ids. -1 for registers the engine lacks in that mode (R8–R15, FS/GS bases in a 16/32-bit engine; CR8, EFER).
/// </summary>
internal static class UcRegisterIds
{
    public static int Of(GuestRegister register, bool wide) => register switch
    {
        GuestRegister.Rax => wide ? UcReg.Rax : UcReg.Eax,
        GuestRegister.Rcx => wide ? UcReg.Rcx : UcReg.Ecx,
        GuestRegister.Rdx => wide ? UcReg.Rdx : UcReg.Edx,
        GuestRegister.Rbx => wide ? UcReg.Rbx : UcReg.Ebx,
        GuestRegister.Rsp => wide ? UcReg.Rsp : UcReg.Esp,
        GuestRegister.Rbp => wide ? UcReg.Rbp : UcReg.Ebp,
        GuestRegister.Rsi => wide ? UcReg.Rsi : UcReg.Esi,
        GuestRegister.Rdi => wide ? UcReg.Rdi : UcReg.Edi,
        >= GuestRegister.R8 and <= GuestRegister.R15 => wide ? UcReg.R8 + (register - GuestRegister.R8) : -1,
        GuestRegister.Rip => wide ? UcReg.Rip : UcReg.Eip,
        GuestRegister.Rflags => wide ? UcReg.Rflags : UcReg.Eflags,
        GuestRegister.Cs => UcReg.Cs,
        GuestRegister.Ds => UcReg.Ds,
        GuestRegister.Es => UcReg.Es,
        GuestRegister.Fs => UcReg.Fs,
        GuestRegister.Gs => UcReg.Gs,
        GuestRegister.Ss => UcReg.Ss,
        GuestRegister.Cr0 => UcReg.Cr0,
        GuestRegister.Cr2 => UcReg.Cr2,
        GuestRegister.Cr3 => UcReg.Cr3,
        GuestRegister.Cr4 => UcReg.Cr4,
        GuestRegister.Dr0 => UcReg.Dr0,
        GuestRegister.Dr1 => UcReg.Dr1,
        GuestRegister.Dr2 => UcReg.Dr2,
        GuestRegister.Dr3 => UcReg.Dr3,
        GuestRegister.Dr6 => UcReg.Dr6,
        GuestRegister.Dr7 => UcReg.Dr7,
        GuestRegister.FsBase => wide ? UcReg.FsBase : -1,
        GuestRegister.GsBase => wide ? UcReg.GsBase : -1,
        _ => -1,
    };
}
