// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// One core's traps from its execution context into the VMX model (I/O instructions aside, see
/// <see cref="IoInstructions"/>): block boundaries to the VM's scheduler and event injection, exceptions to
/// <see cref="EventDelivery"/>.
/// </summary>
internal sealed class CoreTraps : IExecutionCallbacks
{
    private readonly Vcpu _core;
    private readonly VirtualMachine _vm;
    private readonly EventDelivery _events;

    public CoreTraps(Vcpu core, EventDelivery events)
    {
        _core = core;
        _vm = core.Machine;
        _events = events;
    }

    /// <inheritdoc/>
    public void OnBlockBoundary(ulong address)
    {
        CoreDebug debug = _core.Debug;
        debug.Site = DebugSite.BlockBoundary;
        _core.Context.SetTimeSlice(_vm.QuantumBlocks);
        _vm.OnBlockBoundary(_core);
        debug.AtBlockBoundary(address);
        debug.Site = DebugSite.InsideInstruction;
        _events.DeliverPendingInjection(address);
    }

    /// <inheritdoc/>
    public void OnInstruction(ulong address) => _core.Debug.OnInstruction(address);

    /// <inheritdoc/>
    public void OnException(int vector) => _events.DeliverException(vector);

    /// <inheritdoc/>
    public void OnCallbackFailed(string what, Exception exception) =>
        _core.Fail($"core {_core.Index}: {what} failed: {exception}");
}
