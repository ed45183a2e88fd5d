// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>Register ids of unicorn/x86.h. Ids depend on the engine's mode: see <see cref="UcRegisterIds"/>.</summary>
internal static class UcReg
{
    public const int Ah = 1, Al = 2, Ax = 3, Cs = 11, Ds = 17, Eax = 19, Ebp = 20, Ebx = 21, Ecx = 22, Edi = 23, Edx = 24;
    public const int Eflags = 25, Eip = 26, Es = 28, Esi = 29, Esp = 30, Fs = 32, Gs = 33, Ip = 34;
    public const int Rax = 35, Rbp = 36, Rbx = 37, Rcx = 38, Rdi = 39, Rdx = 40, Rip = 41, Rsi = 43, Rsp = 44, Ss = 49;
    public const int Cr0 = 50, Cr2 = 52, Cr3 = 53, Cr4 = 54;
    public const int Dr0 = 66, Dr1 = 67, Dr2 = 68, Dr3 = 69, Dr6 = 72, Dr7 = 73;
    public const int Xmm0 = 122; // after R8..R15 (106-113) and ST0..ST7 (114-121); xmm1..xmm15 follow
    public const int R8 = 106, R9 = 107, R10 = 108, R11 = 109, R12 = 110, R13 = 111, R14 = 112, R15 = 113;
    public const int Idtr = 242, Gdtr = 243, Ldtr = 244, Tr = 245, Msr = 248, FsBase = 250, GsBase = 251, Rflags = 253;
}
