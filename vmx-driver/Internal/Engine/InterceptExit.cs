// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Engine;

/// <summary>What an intercepted instruction is (<see cref="InterceptExit"/>).</summary>
internal enum InterceptKind
{
    /// <summary>RDMSR or WRMSR, as the engine reports it (the model decodes which: <see cref="Rdmsr"/>, <see cref="Wrmsr"/>).</summary>
    Msr,

    /// <summary>RDMSR (ECX = <see cref="InterceptExit.Msr"/>).</summary>
    Rdmsr,

    /// <summary>WRMSR (ECX = <see cref="InterceptExit.Msr"/>, EDX:EAX the value).</summary>
    Wrmsr,

    /// <summary>MOV from CR<see cref="InterceptExit.Index"/>.</summary>
    CrRead,

    /// <summary>MOV to CR<see cref="InterceptExit.Index"/> (also LMSW, CLTS for CR0).</summary>
    CrWrite,

    /// <summary>MOV from DR<see cref="InterceptExit.Index"/>.</summary>
    DrRead,

    /// <summary>MOV to DR<see cref="InterceptExit.Index"/>.</summary>
    DrWrite,

    /// <summary>RDTSC.</summary>
    Rdtsc,

    /// <summary>RDPMC.</summary>
    Rdpmc,

    /// <summary>INVLPG.</summary>
    Invlpg,

    /// <summary>Another SVM exit code (not requested by <see cref="InstructionIntercepts"/>).</summary>
    Other,
}

/// <summary>
/// An intercepted instruction, reported before it executes, with RIP at it (the instruction's own address: an exit is a
/// fault-like event). <see cref="ExitCode"/> is AMD's SVM exit code (APM Vol. 2, appendix C: 7Ch MSR, 00h+n/10h+n CR
/// read/write, 20h+n/30h+n DR read/write, 6Eh RDTSC, 6Fh RDPMC, 79h INVLPG), which is what the engine raises.
/// </summary>
/// <param name="Kind">What the instruction is.</param>
/// <param name="Index">CR/DR number for the register moves; 0 otherwise.</param>
/// <param name="Rip">The instruction's RIP.</param>
/// <param name="ExitCode">The SVM exit code.</param>
/// <param name="Msr">ECX for RDMSR/WRMSR; 0 otherwise.</param>
internal readonly record struct InterceptExit(InterceptKind Kind, int Index, ulong Rip, int ExitCode, uint Msr = 0)
{
    /// <summary>SVM exit code of RDMSR/WRMSR.</summary>
    public const int MsrExit = 0x7C;

    /// <summary>SVM exit code of RDTSC.</summary>
    public const int RdtscExit = 0x6E;

    /// <summary>SVM exit code of RDPMC.</summary>
    public const int RdpmcExit = 0x6F;

    /// <summary>SVM exit code of INVLPG.</summary>
    public const int InvlpgExit = 0x79;

    /// <summary>The exit an SVM exit code stands for, before the model decodes RDMSR from WRMSR.</summary>
    public static InterceptExit FromExitCode(int exitCode, ulong rip, uint ecx) => exitCode switch
    {
        >= 0x00 and <= 0x0F => new(InterceptKind.CrRead, exitCode, rip, exitCode),
        >= 0x10 and <= 0x1F => new(InterceptKind.CrWrite, exitCode - 0x10, rip, exitCode),
        >= 0x20 and <= 0x2F => new(InterceptKind.DrRead, exitCode - 0x20, rip, exitCode),
        >= 0x30 and <= 0x3F => new(InterceptKind.DrWrite, exitCode - 0x30, rip, exitCode),
        RdtscExit => new(InterceptKind.Rdtsc, 0, rip, exitCode),
        RdpmcExit => new(InterceptKind.Rdpmc, 0, rip, exitCode),
        InvlpgExit => new(InterceptKind.Invlpg, 0, rip, exitCode),
        MsrExit => new(InterceptKind.Msr, 0, rip, exitCode, ecx),
        _ => new(InterceptKind.Other, 0, rip, exitCode),
    };
}
