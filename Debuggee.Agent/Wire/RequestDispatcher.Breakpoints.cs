// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Events;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.VmxDriver;

namespace HyperDbgRemote.Agent.Wire;

/// <content>Code breakpoints (<c>bp</c>, <c>bl</c>, <c>bc</c>, <c>bd</c>, <c>be</c>) and stepping (<c>t</c>).</content>
internal sealed partial class RequestDispatcher
{
    private BreakpointResponse Breakpoint(BreakpointRequest request, CancellationToken cancellationToken)
    {
        var response = new BreakpointResponse { Status = Status.Ok };
        int? id = request.HasBreakpointId ? checked((int)Math.Min(request.BreakpointId, int.MaxValue)) : null;
        switch (request.Action)
        {
            case BreakpointAction.Set:
                {
                    (int newId, string? pending) = _session.Breakpoints.Set(request.Address, Options(request, cancellationToken), cancellationToken);
                    response.BreakpointId = (uint)newId;
                    response.Message = pending ?? string.Empty;
                    break;
                }

            case BreakpointAction.List:
                response.Breakpoints.Add(_session.Breakpoints.List().Select(Info));
                break;
            case BreakpointAction.Clear or BreakpointAction.Enable or BreakpointAction.Disable:
                {
                    BreakpointTable.ModifyResult result = _session.Breakpoints.Modify(request.Action, id, cancellationToken);
                    response.Breakpoints.Add(result.Changed.Select(Info));
                    if (result.Kept.Count > 0)
                    {
                        string ids = string.Join(", ", result.Kept.Select(b => $"0x{b.Id:x}"));
                        response.Message = $"kept the gdb client's breakpoint(s) {ids}: remove them from gdb.";
                    }

                    break;
                }

            default:
                throw new SessionException($"breakpoint action {request.Action} is not one the agent knows.", Status.InvalidArgument);
        }

        return response;
    }

    /// <summary>A SET request's filters and script (compiled here: a syntax error refuses the breakpoint).</summary>
    private BreakpointTable.BreakpointOptions Options(BreakpointRequest request, CancellationToken cancellationToken)
    {
        if (!request.HasPid && !request.HasCore && request.Script.Length == 0)
        {
            return BreakpointTable.BreakpointOptions.None;
        }

        RegisteredEvent? script = null;
        if (request.Script.Length > 0)
        {
            IEventScript compiled = (_scripts ?? throw new SessionException("this agent has no script engine.", Status.Unsupported)).Compile(request.Script, request.ScriptIncludes, cancellationToken);

            // The script runs as an event's does (output, $buffer, pause()), through a shell that is not in the event
            // list: $event_id is 0.
            script = new RegisteredEvent(0, new IoEventSpec { Direction = IoEventDirection.Out, Script = compiled, CommandText = "bp" });
        }

        int? core = request.HasCore ? (int)Math.Min(request.Core, int.MaxValue) : null;
        return new BreakpointTable.BreakpointOptions(request.HasPid ? request.Pid : null, core, request.Script, script);
    }

    private static BreakpointInfo Info(BreakpointTable.Breakpoint b)
    {
        var info = new BreakpointInfo { BreakpointId = (uint)b.Id, Address = b.Address, Enabled = b.Enabled, Hits = (ulong)b.Hits, Script = b.Options.ScriptText, Pending = b.IsPending };
        if (b.Options.ProcessId is uint pid)
        {
            info.Pid = pid;
        }

        if (b.Gdb is BreakpointTable.GdbOwner gdb)
        {
            info.GdbClient = (uint)gdb.Client;
            info.GdbHardware = gdb.Hardware;
        }

        if (b.Options.Core is int core)
        {
            info.Core = (uint)core;
        }

        return info;
    }

    private StepResponse Step(StepRequest request, CancellationToken cancellationToken)
    {
        int count = (int)Math.Max(request.Count, 1);
        if (request.Kind == StepKind.Out && request.Count == 0)
        {
            count = ProtocolLimits.MaxGoUpInstructions;
        }

        int core = (int)Math.Min(request.Core, int.MaxValue);
        ExecutionControl.StepResult result = new ExecutionControl(_session).Step(core, count, request.Kind, cancellationToken);
        var response = new StepResponse { Status = Status.Ok, Steps = (uint)result.Steps, Halt = Notifications.Halted(DebuggeeSession.Describe(result.Halt), _session) };
        if (request.Kind == StepKind.Out && !result.Returned && result.Halt.Reason == VmxDriver.HaltReason.Step)
        {
            response.Message = $"the function did not return within {result.Steps:x} instructions; halted after them.";
        }

        return response;
    }
}
