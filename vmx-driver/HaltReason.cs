// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>Why the VM halted.</summary>
public enum HaltReason
{
    /// <summary>A pause was requested from outside while the guest ran (break-in).</summary>
    BreakIn,

    /// <summary>An exit handler halted the VM (a break event, a script's pause()).</summary>
    Event,

    /// <summary>The VM was started with an initial break: every core halted before its first instruction.</summary>
    InitialBreak,

    /// <summary>A core reached a code breakpoint (<see cref="VirtualMachine.AddCodeBreakpoint"/>): it stopped before the
    /// instruction at the breakpoint executed. The halt's tag is the breakpoint's linear address.</summary>
    Breakpoint,

    /// <summary>A single step (<see cref="VirtualMachine.Step"/>) ended: the core executed one instruction (or, from an
    /// I/O exit, finished its I/O instruction's block; see docs/differences.md) and stopped before the next.</summary>
    Step,

    /// <summary>The guest's kernel panicked: a Linux guest reached <c>panic()</c> and finished its panic report (or
    /// ran out of the time it is given for it). The halt's tag is a <see cref="KernelPanicReport"/> with the panic
    /// message. See <see cref="Guests.Linux.LinuxPanicWatch"/>.</summary>
    KernelPanic,
}
