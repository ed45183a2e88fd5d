// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>
/// Guest registers, architectural width. The first sixteen are in HyperDbg's GUEST_REGS order (rax, rcx, rdx, rbx, rsp,
/// rbp, rsi, rdi, r8 … r15), so <c>(int)reg * 8</c> is the offset in that layout.
/// </summary>
public enum GuestRegister
{
    Rax,
    Rcx,
    Rdx,
    Rbx,
    Rsp,
    Rbp,
    Rsi,
    Rdi,
    R8,
    R9,
    R10,
    R11,
    R12,
    R13,
    R14,
    R15,
    Rip,
    Rflags,
    Cs,
    Ds,
    Es,
    Fs,
    Gs,
    Ss,
    Cr0,
    Cr2,
    Cr3,
    Cr4,
    Cr8,
    Dr0,
    Dr1,
    Dr2,
    Dr3,
    Dr6,
    Dr7,
    FsBase,
    GsBase,
    Efer,
}
