// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// QEMU's isa-debug-exit: a write of V ends the run with exit status (V &lt;&lt; 1) | 1, as QEMU reports it.
/// </summary>
public sealed class DebugExitPort : IIoPortHandler
{
    private readonly VirtualMachine _vm;

    public DebugExitPort(VirtualMachine vm)
    {
        _vm = vm;
    }

    /// <inheritdoc/>
    public byte ReadByte(ushort port) => 0xFF;

    /// <inheritdoc/>
    public void WriteByte(ushort port, byte value) => Exit(value);

    /// <inheritdoc/>
    public void WriteWord(ushort port, ushort value) => Exit(value);

    /// <inheritdoc/>
    public void WriteDword(ushort port, uint value) => Exit(value);

    private void Exit(uint value) => _vm.RequestStop(new VmStopInfo(VmStopReason.DebugExit, (int)((value << 1) | 1)));
}
