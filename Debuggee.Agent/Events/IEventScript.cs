// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Agent.Events;

/// <summary>A compiled event script, run on the exiting core's thread for each trigger.</summary>
internal interface IEventScript
{
    /// <summary>Runs once; returns null on success or the runtime error (the event stays active).</summary>
    string? Run(EventInvocation invocation);
}
