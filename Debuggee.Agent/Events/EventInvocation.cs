// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver;

namespace HyperDbgRemote.Agent.Events;

/// <summary>What an event's script or code sees for one trigger.</summary>
internal sealed class EventInvocation
{
    public required RegisteredEvent Event { get; init; }

    public required IoExit Exit { get; init; }

    public required EventManager Manager { get; init; }

    /// <summary>The port (HyperDbg's $context for I/O events).</summary>
    public ulong Context => Exit.Port;

    /// <summary>0 in the pre stage, 1 in the post stage ($event_stage).</summary>
    public int StageNumber => Exit.Stage == ExitStage.Pre ? 0 : 1;

    /// <summary>The event's short-circuit decision for this trigger; starts at its <c>sc</c> setting, <c>event_sc</c> changes it.</summary>
    public bool ShortCircuit { get; set; }

    /// <summary>Set by <c>pause()</c>: the VM halts after the event's actions.</summary>
    public bool PauseRequested { get; set; }
}
