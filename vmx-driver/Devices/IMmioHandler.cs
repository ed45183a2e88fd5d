// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// A device's memory-mapped registers: reads and writes of 1, 2, 4 or 8 bytes at an offset from the start of the
/// region the device was mapped at (<see cref="VirtualMachine.MapMmio"/>). Handlers run on the accessing core's thread,
/// inside the engine: they must not block and must not stop the core.
/// </summary>
public interface IMmioHandler
{
    /// <summary>Reads <paramref name="size"/> bytes at <paramref name="offset"/> (little-endian in the result).</summary>
    ulong Read(ulong offset, int size);

    /// <summary>Writes the low <paramref name="size"/> bytes of <paramref name="value"/> at <paramref name="offset"/>.</summary>
    void Write(ulong offset, int size, ulong value);
}
