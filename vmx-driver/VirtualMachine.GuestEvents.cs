// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <content>CPUID, exception, external-interrupt and SYSCALL events (HyperDbg's <c>!cpuid</c>, <c>!exception</c>,
/// <c>!interrupt</c>, <c>!syscall</c>): which kinds the exit handler hears of, and the two stages around each.</content>
public sealed partial class VirtualMachine
{
    private int _trappedGuestEvents;

    /// <summary>
    /// The kinds of guest event given to <see cref="IVmExitHandler.OnGuestEvent"/> (VMX's CPUID exits are
    /// unconditional, the exception bitmap, external-interrupt exiting and HyperDbg's SYSCALL hook are controls); none
    /// by default, so a guest that nobody watches pays one flag test per CPUID, exception, interrupt and SYSCALL.
    /// Takes effect at each core's next such event; <see cref="GuestEventKinds.Sysret"/> and
    /// <see cref="GuestEventKinds.InstructionEvents"/> at each core's next block boundary (their instructions are
    /// intercepted: <see cref="Internal.Execution.InstructionEventIntercepts"/>; while <see cref="GuestEventKinds.Mode"/>
    /// is trapped, the core calls back every instruction: <see cref="Internal.Execution.InstructionWatch"/>).
    /// </summary>
    public GuestEventKinds TrappedGuestEvents
    {
        get => (GuestEventKinds)Volatile.Read(ref _trappedGuestEvents);
        set
        {
            int old = Interlocked.Exchange(ref _trappedGuestEvents, (int)value);
            if (((old ^ (int)value) & (int)(GuestEventKinds.Sysret | GuestEventKinds.InstructionEvents)) != 0)
            {
                foreach (Vcpu core in _cores)
                {
                    core.RaiseAttention();
                }
            }
        }
    }

    /// <summary>True while SYSRET is trapped: each 64-bit core hides EFER.SCE from its engine (HyperDbg's EFER hook).</summary>
    internal bool HidesSyscallEnable => (Volatile.Read(ref _trappedGuestEvents) & (int)GuestEventKinds.Sysret) != 0;

    /// <summary>Halts so far (a core's own callback compares it before and after an exit to know whether the exit
    /// halted).</summary>
    internal long HaltCount => Interlocked.Read(ref _haltSequence);

    /// <summary>True when the exit handler wants <paramref name="kind"/> (any of them, for several).</summary>
    internal bool Traps(GuestEventKinds kind) => (Volatile.Read(ref _trappedGuestEvents) & (int)kind) != 0 && ExitHandler is not null;

    /// <summary>The pre stage of an event, when the exit handler wants its kind; null otherwise (nothing to skip, no
    /// post stage).</summary>
    internal GuestEventExit? BeginGuestEvent(Vcpu core, GuestEventKinds kind, ulong context, ulong rip, uint? errorCode = null, ulong? newValue = null, ulong? oldValue = null)
    {
        if (!Traps(kind) || ExitHandler is not IVmExitHandler handler)
        {
            return null;
        }

        var exit = new GuestEventExit(core, kind, context, rip, errorCode, newValue, oldValue) { Stage = ExitStage.Pre };
        handler.OnGuestEvent(exit);
        return exit;
    }

    /// <summary>The post stage, when the pre stage asked for it.</summary>
    internal void EndGuestEvent(GuestEventExit? exit)
    {
        if (exit is { PostStageRequested: true } && ExitHandler is IVmExitHandler handler)
        {
            exit.Stage = ExitStage.Post;
            handler.OnGuestEvent(exit);
        }
    }
}
