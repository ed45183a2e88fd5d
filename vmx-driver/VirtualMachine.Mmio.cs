// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;

namespace HyperDbgRemote.VmxDriver;

/// <content>Memory-mapped devices: regions of guest-physical address space whose accesses go to a device.</content>
public sealed partial class VirtualMachine
{
    private readonly List<MmioMapping> _mmio = [];

    /// <summary>The memory-mapped regions, in the order they were mapped.</summary>
    internal IReadOnlyList<MmioMapping> MmioMappings => _mmio;

    /// <summary>
    /// Maps [<paramref name="address"/>, <paramref name="address"/> + <paramref name="size"/>) to a device on every core:
    /// core n's accesses go to <paramref name="handlerForCore"/>(n), so one region can reach one device for all cores
    /// (an I/O APIC) or each core's own (its local APIC, at the same address on every core). Before the VM starts.
    /// </summary>
    /// <exception cref="ArgumentException">The region is empty, not page-aligned, or overlaps RAM, ROM or another
    /// region; nothing is mapped then.</exception>
    /// <exception cref="InvalidOperationException">The VM has started.</exception>
    public void MapMmio(ulong address, ulong size, Func<int, IMmioHandler> handlerForCore)
    {
        ArgumentNullException.ThrowIfNull(handlerForCore);
        if (_started)
        {
            throw new InvalidOperationException("Memory-mapped devices are mapped before the VM starts.");
        }

        if (size == 0 || address % GuestMemory.PageSize != 0 || size % GuestMemory.PageSize != 0 || address + size < address)
        {
            throw new ArgumentException($"An MMIO region is whole pages: 0x{address:X} size 0x{size:X} is not.", nameof(size));
        }

        foreach (GuestMemoryRegion r in Memory.Regions)
        {
            if (address < r.Address + r.Size && r.Address < address + size)
            {
                throw new ArgumentException($"The MMIO region at 0x{address:X} size 0x{size:X} overlaps guest memory at 0x{r.Address:X}.", nameof(address));
            }
        }

        foreach (MmioMapping m in _mmio)
        {
            if (address < m.Address + m.Size && m.Address < address + size)
            {
                throw new ArgumentException($"The MMIO region at 0x{address:X} size 0x{size:X} overlaps the one at 0x{m.Address:X}.", nameof(address));
            }
        }

        _mmio.Add(new MmioMapping(address, size, handlerForCore));
    }

    /// <summary>One memory-mapped region.</summary>
    internal sealed record MmioMapping(ulong Address, ulong Size, Func<int, IMmioHandler> HandlerForCore);
}
