// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Events;
using HyperDbgRemote.Agent.Outputs;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.VmxDriver;

namespace HyperDbgRemote.Agent.Wire;

/// <content>Events, outputs and execution control.</content>
internal sealed partial class RequestDispatcher
{
    private RegisterEventResponse RegisterEvent(EventRegistration r, CancellationToken cancellationToken)
    {
        IoEventSpec spec = ToSpec(r, cancellationToken);
        RegisteredEvent e = _session.Events.Register(spec);
        return new RegisterEventResponse { Status = Status.Ok, EventId = (uint)e.Id };
    }

    /// <summary>Validates a registration from the wire (its sizes were checked by <see cref="Handle"/>) and turns it into
    /// an event specification (compiling its script unless <paramref name="cancellationToken"/> is cancelled first).</summary>
    private IoEventSpec ToSpec(EventRegistration r, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(r);
        MonitorRange? monitor = null;
        if (r.MonitorAccess != 0)
        {
            if (r.MonitorAccess > 7)
            {
                throw new SessionException($"monitor access {r.MonitorAccess:x} is unknown: bits 0 to 2 are read, write and execute.");
            }

            monitor = new MonitorRange(r.MonitorFrom, r.MonitorTo, (MemoryAccessKinds)r.MonitorAccess);
        }

        ulong? value = r.HasGuestEventFilter ? r.GuestEventFilter : null;
        GuestEventFilter? guestEvent = r.GuestEvent switch
        {
            GuestEventKind.Unspecified => null,
            GuestEventKind.Cpuid => new GuestEventFilter(GuestEventKinds.Cpuid, value),
            GuestEventKind.Exception => new GuestEventFilter(GuestEventKinds.Exception, value),
            GuestEventKind.Interrupt => new GuestEventFilter(GuestEventKinds.Interrupt, value),
            GuestEventKind.Syscall => new GuestEventFilter(GuestEventKinds.Syscall, value),
            GuestEventKind.Sysret => new GuestEventFilter(GuestEventKinds.Sysret, value),
            GuestEventKind.MsrRead => new GuestEventFilter(GuestEventKinds.MsrRead, value),
            GuestEventKind.MsrWrite => new GuestEventFilter(GuestEventKinds.MsrWrite, value),
            GuestEventKind.CrWrite => new GuestEventFilter(GuestEventKinds.CrWrite, value) { Mask = r.HasGuestEventMask ? r.GuestEventMask : null },
            GuestEventKind.DebugRegister => new GuestEventFilter(GuestEventKinds.DebugRegister, value),
            GuestEventKind.Tsc => new GuestEventFilter(GuestEventKinds.Tsc, value),
            GuestEventKind.Pmc => new GuestEventFilter(GuestEventKinds.Pmc, value),
            GuestEventKind.Mode => new GuestEventFilter(GuestEventKinds.Mode, value),
            _ => throw new SessionException($"guest event kind {(int)r.GuestEvent} is unknown."),
        };
        if (r.HasGuestEventMask && guestEvent?.Kind != GuestEventKinds.CrWrite)
        {
            throw new SessionException("only a !crwrite event has a mask.");
        }

        if (guestEvent is not null && monitor is not null)
        {
            throw new SessionException("an event is either a memory monitor or a guest event, not both.");
        }

        IoEventDirection direction = r.Direction switch
        {
            IoDirection.In => IoEventDirection.In,
            IoDirection.Out => IoEventDirection.Out,
            _ when monitor is not null || guestEvent is not null => IoEventDirection.In,
            _ => throw new SessionException("the event has no direction (in or out)."),
        };
        if (guestEvent is not null && r.HasPort)
        {
            throw new SessionException("a guest event (!cpuid ... !mode) has no port.");
        }

        if (r.HasPort && r.Port > ushort.MaxValue)
        {
            throw new SessionException($"port {r.Port:x} is out of range: ports are 0 to ffff.");
        }

        IoEventStage stage = r.Stage switch
        {
            EventStage.Unspecified or EventStage.Pre => IoEventStage.Pre,
            EventStage.Post => IoEventStage.Post,
            EventStage.All => IoEventStage.All,
            _ => throw new SessionException($"stage {(int)r.Stage} is unknown: use pre, post or all."),
        };
        foreach (string name in r.Outputs)
        {
            _ = _session.Outputs.Get(name);
        }

        IEventScript? script = null;
        if (r.Script.Length > 0)
        {
            script = (_scripts ?? throw new SessionException("this agent has no script engine.", Status.Unsupported)).Compile(r.Script, r.ScriptIncludes, cancellationToken);
        }

        return new IoEventSpec
        {
            Direction = direction,
            Port = r.HasPort ? (ushort)r.Port : null,
            ProcessId = r.HasPid ? r.Pid : null,
            Core = r.HasCore ? checked((int)Math.Min(r.Core, int.MaxValue)) : null,
            Immediate = r.Immediate,
            ShortCircuit = r.ShortCircuit,
            Stage = stage,
            BufferSize = checked((int)Math.Min(r.BufferSize, int.MaxValue)),
            Script = script,
            Condition = r.Condition is { MachineCode.Length: > 0 } c ? c.MachineCode.ToByteArray() : null,
            Code = r.Code is { MachineCode.Length: > 0 } k ? k.MachineCode.ToByteArray() : null,
            Outputs = [.. r.Outputs],
            CommandText = r.CommandText,
            Monitor = monitor,
            GuestEvent = guestEvent,
        };
    }

    private ModifyEventResponse ModifyEvent(ModifyEventRequest request)
    {
        int? id = request.HasEventId ? checked((int)Math.Min(request.EventId, int.MaxValue)) : null;
        switch (request.Action)
        {
            case EventAction.Enable:
                _session.Events.SetEnabled(id, true);
                break;
            case EventAction.Disable:
                _session.Events.SetEnabled(id, false);
                break;
            case EventAction.Clear:
                _session.Events.Clear(id);
                break;
            default:
                throw new SessionException("the event action is missing: enable, disable or clear.");
        }

        return new ModifyEventResponse { Status = Status.Ok };
    }

    private ListEventsResponse ListEvents()
    {
        var response = new ListEventsResponse { Status = Status.Ok };
        foreach (RegisteredEvent e in _session.Events.Events)
        {
            response.Events.Add(new EventInfo
            {
                EventId = (uint)e.Id,
                Enabled = e.Enabled,
                CommandText = e.Spec.CommandText,
                Direction = e.Spec.Direction == IoEventDirection.In ? IoDirection.In : IoDirection.Out,
                Triggers = (ulong)Interlocked.Read(ref e.Triggers),
                Failures = (ulong)Interlocked.Read(ref e.Failures),
            });
        }

        return response;
    }

    private OutputResponse Output(OutputRequest request)
    {
        OutputManager outputs = _session.Outputs;
        switch (request.BodyCase)
        {
            case OutputRequest.BodyOneofCase.Create:
                outputs.Create(request.Create.Name, request.Create.Kind, request.Create.Address, request.Create.Truncate);
                break;
            case OutputRequest.BodyOneofCase.Open:
                outputs.Get(request.Open).Open();
                break;
            case OutputRequest.BodyOneofCase.Close:
                outputs.Get(request.Close).Close();
                break;
            case OutputRequest.BodyOneofCase.List:
                break;
            default:
                throw new SessionException("the output request is empty: create, open, close or list.");
        }

        var response = new OutputResponse { Status = Status.Ok };
        foreach (OutputSource s in outputs.Sources)
        {
            response.Outputs.Add(new OutputInfo
            {
                Name = s.Name,
                Kind = OutputSource.KindName(s.Kind),
                Address = s.Address,
                State = s.State switch
                {
                    OutputState.NotOpened => "not opened",
                    OutputState.Opened => "opened",
                    OutputState.Closed => "closed",
                    _ => $"failed: {s.LastError}",
                },
                Sent = (ulong)s.Sent,
                Lost = (ulong)s.Lost,
            });
        }

        return response;
    }

    private ContinueResponse Continue(ContinueRequest request)
    {
        _session.Messages.FlushBatch();
        _session.Continue(halt =>
        {
            if (!request.HasShortCircuit)
            {
                return;
            }

            if (halt.GuestEvent is GuestEventExit guestEvent)
            {
                if (guestEvent.Stage != ExitStage.Pre)
                {
                    throw new SessionException($"events sc applies to the pre stage: in the post stage the {guestEvent.KindName} has been handled.");
                }

                guestEvent.SkipInstruction = request.ShortCircuit;
                return;
            }

            IoExit exit = halt.Exit ?? throw new SessionException("events sc applies to a halt caused by an event.", Status.NotHalted);
            if (exit.Stage != ExitStage.Pre)
            {
                throw new SessionException("events sc applies to the pre stage: in the post stage the instruction has run.");
            }

            exit.SkipInstruction = request.ShortCircuit;
        });
        return new ContinueResponse { Status = Status.Ok };
    }

    private PauseResponse Pause(PauseRequest request)
    {
        uint ms = request.TimeoutMs == 0 ? 2000 : Math.Min(request.TimeoutMs, 60_000);
        bool wasHalted = _session.Vm.IsHalted;
        if (!_session.Pause(TimeSpan.FromMilliseconds(ms)))
        {
            throw new SessionException(_session.Vm.HasStopped ? "the guest has stopped." : $"the guest did not halt within {ms} ms.", _session.Vm.HasStopped ? Status.GuestStopped : Status.Timeout);
        }

        VmHaltInfo halt = _session.Vm.CurrentHalt ?? throw new SessionException("the guest resumed at once.", Status.Internal);
        // Already halted (by a break-in byte that came first, another host or an event): said so, with the halt.
        return new PauseResponse
        {
            Status = wasHalted ? Status.AlreadyHalted : Status.Ok,
            Message = wasHalted ? "the debuggee is already halted." : string.Empty,
            Halt = Notifications.Halted(DebuggeeSession.Describe(halt), _session),
        };
    }
}
