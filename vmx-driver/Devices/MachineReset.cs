// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>The reset signal of a VM: a guest reset ends the run with <see cref="VmStopReason.Reset"/>, naming how.</summary>
internal sealed class MachineReset : ISystemReset
{
    private readonly VirtualMachine _vm;

    public MachineReset(VirtualMachine vm)
    {
        _vm = vm;
    }

    /// <inheritdoc/>
    public void RequestReset(string source) => _vm.RequestStop(new VmStopInfo(VmStopReason.Reset, Report: $"the guest reset the machine: {source}"));
}
