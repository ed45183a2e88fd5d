// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script;

/// <summary>
/// Every register name of HyperDbg's script language (spec 6.3). The first block (up to <see cref="Dr7"/>) are the full
/// registers an <see cref="IScriptTarget"/> stores; the rest are views (sub-registers, flag bits) that the engine reads
/// and merges itself, so a target is only ever asked for a full register (<see cref="ScriptRegisterInfo.IsFull"/>).
/// </summary>
public enum ScriptRegister
{
    /// <summary>Not a register.</summary>
    None = 0,

    // Full registers: the only values an IScriptTarget reads or writes.
    Rax, Rcx, Rdx, Rbx, Rsp, Rbp, Rsi, Rdi,
    R8, R9, R10, R11, R12, R13, R14, R15,
    Rip, Rflags,
    Cs, Ds, Es, Fs, Gs, Ss,
    Idtr, Ldtr, Gdtr, Tr,
    Cr0, Cr2, Cr3, Cr4, Cr8,
    Dr0, Dr1, Dr2, Dr3, Dr6, Dr7,

    // Views of the general registers (bits 31:0, 15:0, 15:8, 7:0).
    Eax, Ax, Ah, Al,
    Ecx, Cx, Ch, Cl,
    Edx, Dx, Dh, Dl,
    Ebx, Bx, Bh, Bl,
    Esp, Sp, Spl,
    Ebp, Bp, Bpl,
    Esi, Si, Sil,
    Edi, Di, Dil,
    R8d, R8w, R8h, R8l,
    R9d, R9w, R9h, R9l,
    R10d, R10w, R10h, R10l,
    R11d, R11w, R11h, R11l,
    R12d, R12w, R12h, R12l,
    R13d, R13w, R13h, R13l,
    R14d, R14w, R14h, R14l,
    R15d, R15w, R15h, R15l,

    // Views of rip and rflags.
    Eip, Ip,
    Eflags, Flags,
    Cf, Pf, Af, Zf, Sf, Tf, If, Df, Of, Iopl, Nt, Rf, Vm, Ac, Vif, Vip, Id,
}
