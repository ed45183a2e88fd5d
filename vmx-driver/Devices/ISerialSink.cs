// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// Where a UART's transmitted bytes go (a serial backend: a pty, a socket, a file). The UART calls
/// <see cref="TryWrite"/> with its lock held; a full sink returns false and later calls
/// <see cref="Uart16550.SinkReady"/> from its own thread, and meanwhile the UART keeps the byte in its transmit shift
/// register with LSR.TEMT clear — the guest's driver waits, as on a line with flow control. Nothing is dropped.
/// </summary>
public interface ISerialSink
{
    /// <summary>Takes one byte, or returns false when it cannot now. Must not block or call into the UART.</summary>
    bool TryWrite(byte value);
}
