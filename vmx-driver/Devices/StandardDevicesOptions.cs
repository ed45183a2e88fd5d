// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>Choices for the standard devices.</summary>
public sealed record StandardDevicesOptions
{
    /// <summary>How many 16550 UARTs, COM1 first (1–4; QEMU adds one per <c>-serial</c>).</summary>
    public int SerialPorts { get; init; } = 4;

    /// <summary>The host clock guest time follows (default: the system's).</summary>
    public TimeProvider? Time { get; init; }
}
