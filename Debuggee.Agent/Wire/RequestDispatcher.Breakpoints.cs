// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

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
                response.BreakpointId = (uint)_session.Breakpoints.Set(request.Address, cancellationToken);
                break;
            case BreakpointAction.List:
                response.Breakpoints.Add(_session.Breakpoints.List().Select(Info));
                break;
            case BreakpointAction.Clear or BreakpointAction.Enable or BreakpointAction.Disable:
                response.Breakpoints.Add(_session.Breakpoints.Modify(request.Action, id, cancellationToken).Select(Info));
                break;
            default:
                throw new SessionException($"breakpoint action {request.Action} is not one the agent knows.", Status.InvalidArgument);
        }

        return response;
    }

    private static BreakpointInfo Info(BreakpointTable.Breakpoint b) =>
        new() { BreakpointId = (uint)b.Id, Address = b.Address, Enabled = b.Enabled, Hits = (ulong)b.Hits };

    private StepResponse Step(StepRequest request, CancellationToken cancellationToken)
    {
        int count = (int)Math.Max(request.Count, 1);
        if (request.Kind == StepKind.Out && request.Count == 0)
        {
            count = ProtocolLimits.MaxGoUpInstructions;
        }

        int core = (int)Math.Min(request.Core, int.MaxValue);
        ExecutionControl.StepResult result = new ExecutionControl(_session).Step(core, count, request.Kind, cancellationToken);
        var response = new StepResponse { Status = Status.Ok, Steps = (uint)result.Steps, Halt = Notifications.Halted(_session.Describe(result.Halt), _session) };
        if (request.Kind == StepKind.Out && !result.Returned && result.Halt.Reason == VmxDriver.HaltReason.Step)
        {
            response.Message = $"the function did not return within {result.Steps:x} instructions; halted after them.";
        }

        return response;
    }
}
