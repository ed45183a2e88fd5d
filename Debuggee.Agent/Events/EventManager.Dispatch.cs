// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver;

namespace HyperDbgRemote.Agent.Events;

/// <content>The one dispatch loop of the staged exits (<c>!ioin</c>/<c>!ioout</c> and the guest events: <c>!cpuid</c>,
/// <c>!exception</c>, <c>!interrupt</c>, <c>!syscall</c>, <c>!sysret</c>); what differs per kind of exit (which events
/// it qualifies, what a script sees, how the VM halts) is in its <see cref="IStagedExit"/>.</content>
internal sealed partial class EventManager
{
    /// <summary>One staged exit as the dispatch loop sees it. Implemented by structs so that the loop is specialised
    /// per kind and an exit allocates nothing more than before.</summary>
    private interface IStagedExit
    {
        Vcpu Core { get; }

        ExitStage Stage { get; }

        /// <summary>What <c>event_sc</c> in the post stage is too late for, for the warning.</summary>
        string PostStageTooLate { get; }

        /// <summary>Whether an event of this kind watches this exit (beyond enabled, core and process, which the
        /// loop checks).</summary>
        bool Qualifies(IoEventSpec spec);

        EventInvocation Invocation(RegisteredEvent e, EventManager manager);

        /// <summary>The pre stage's decisions: skip the instruction, call again in the post stage.</summary>
        void SetPreStageResult(bool skip, bool needPost);

        void Halt(VirtualMachine vm, RegisteredEvent breaking);
    }

    /// <summary>
    /// Runs the matching events oldest first: the pre stage runs the pre and all events (a post event only asks for
    /// the post stage) and decides the skip from their short-circuit decisions; the post stage runs the post and all
    /// events. The first event that breaks (or whose script called <c>pause()</c>) halts the VM after all have run.
    /// </summary>
    private void Dispatch<TExit>(TExit exit)
        where TExit : struct, IStagedExit
    {
        RegisteredEvent[] events = Volatile.Read(ref _events);
        bool pre = exit.Stage == ExitStage.Pre;
        bool skip = false;
        bool needPost = false;
        RegisteredEvent? breaking = null;
        GuestProcess? process = null;
        foreach (RegisteredEvent e in events)
        {
            IoEventSpec s = e.Spec;
            if (!e.Enabled || !exit.Qualifies(s) || (s.Core is int core && core != exit.Core.Index) || !InProcess(s, exit.Core, ref process))
            {
                continue;
            }

            if (pre)
            {
                needPost |= s.Stage != IoEventStage.Pre;
                if (s.Stage == IoEventStage.Post)
                {
                    continue;
                }
            }
            else if (s.Stage == IoEventStage.Pre)
            {
                continue;
            }

            EventInvocation invocation = exit.Invocation(e, this);
            if (!RunActions(e, invocation))
            {
                continue;
            }

            if (pre)
            {
                skip |= invocation.ShortCircuit;
            }
            else if (invocation.ShortCircuit && !s.ShortCircuit)
            {
                _output.Log(EventLogLevel.Warning, $"event {e.Id:x}: event_sc has no effect in the post stage ({exit.PostStageTooLate}).");
            }

            if (breaking is null && (s.Breaks || invocation.PauseRequested))
            {
                breaking = e;
            }
        }

        if (pre)
        {
            exit.SetPreStageResult(skip, needPost);
        }

        if (breaking is not null)
        {
            HaltingEvent = breaking;
            try
            {
                exit.Halt(_vm, breaking);
            }
            finally
            {
                HaltingEvent = null;
            }
        }
    }

    /// <summary>Whether the event's <c>pid</c> (if any) is the current process; the process is looked up once per
    /// exit.</summary>
    private bool InProcess(IoEventSpec s, Vcpu core, ref GuestProcess? process)
    {
        if (s.ProcessId is uint pid)
        {
            process ??= _vm.OsProfile.Current(core);
            return process.Value.ProcessId == pid;
        }

        return true;
    }

    /// <summary><c>!ioin</c>/<c>!ioout</c>: the direction, and the port when the event names one.</summary>
    private readonly struct IoDispatch(IoExit exit) : IStagedExit
    {
        private readonly IoEventDirection _direction = exit.Qualification.IsIn ? IoEventDirection.In : IoEventDirection.Out;

        public Vcpu Core => exit.Core;

        public ExitStage Stage => exit.Stage;

        public string PostStageTooLate => exit.SkipInstruction ? "the pre stage skipped the instruction" : "the instruction already ran";

        public bool Qualifies(IoEventSpec s)
        {
            if (s.Monitor is not null || s.GuestEvent is not null || s.Direction != _direction)
            {
                return false;
            }

            // Any byte of the access: [port, port + size), wrapping at 0xFFFF as the hardware does.
            return s.Port is not ushort port || ((port - exit.Port) & 0xFFFF) < exit.Qualification.Size;
        }

        public EventInvocation Invocation(RegisteredEvent e, EventManager manager) =>
            new() { Event = e, Exit = exit, Manager = manager, ShortCircuit = e.Spec.ShortCircuit };

        public void SetPreStageResult(bool skip, bool needPost)
        {
            exit.SkipInstruction = skip;
            exit.PostStageRequested = needPost;
        }

        public void Halt(VirtualMachine vm, RegisteredEvent breaking) => vm.Halt(exit.Core, HaltReason.Event, exit, breaking.Id);
    }

    /// <summary>The guest events: the kind, and the value (leaf, vector, system call number) when the event names one.</summary>
    private readonly struct GuestEventDispatch(GuestEventExit exit) : IStagedExit
    {
        public Vcpu Core => exit.Core;

        public ExitStage Stage => exit.Stage;

        public string PostStageTooLate => $"the {exit.KindName} has been handled";

        public bool Qualifies(IoEventSpec s) =>
            s.GuestEvent is GuestEventFilter g && g.Matches(exit);

        public EventInvocation Invocation(RegisteredEvent e, EventManager manager) =>
            new() { Event = e, GuestEvent = exit, Manager = manager, ShortCircuit = e.Spec.ShortCircuit };

        public void SetPreStageResult(bool skip, bool needPost)
        {
            exit.SkipInstruction = skip;
            exit.PostStageRequested = needPost;
        }

        public void Halt(VirtualMachine vm, RegisteredEvent breaking) => vm.Halt(exit.Core, exit, breaking.Id);
    }
}
