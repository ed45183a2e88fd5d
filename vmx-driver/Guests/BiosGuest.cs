// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;
using HyperDbgRemote.VmxDriver.Devices;
using HyperDbgRemote.VmxDriver.Guests.Linux;

namespace HyperDbgRemote.VmxDriver.Guests;

/// <summary>
/// A PC BIOS image at the reset vector: the image is mapped read-only just below 4 GiB and its last 128 KiB are copied
/// into RAM at 0xE0000–0xFFFFF (what the chipset's PAM shadowing gives). Execution starts at F000:FFF0 (the engine
/// cannot give CS the architectural base 0xFFFF0000; the shadow copy makes the first far jump land identically).
/// With a Linux kernel (<see cref="BiosKernel"/>), fw_cfg offers it as QEMU's <c>-kernel</c> does
/// (<see cref="FwCfgLinuxBoot"/>): the firmware runs QEMU's option ROM linuxboot_dma.bin, which loads the kernel and
/// enters its real-mode setup code.
/// </summary>
public sealed class BiosGuest : IGuestLoader
{
    /// <summary>Smallest accepted image (64 KiB).</summary>
    public const int MinimumSize = 64 * 1024;

    /// <summary>Largest accepted image (16 MiB).</summary>
    public const int MaximumSize = 16 * 1024 * 1024;

    private const ulong FourGiB = 0x1_0000_0000;
    private const ulong LocalApicBase = 0xFEE0_0000;
    private const ulong IoApicBase = 0xFEC0_0000;
    private const ulong ShadowBase = 0xE0000;
    private const int ShadowSize = 128 * 1024;
    private const ushort ResetSegment = 0xF000;
    private const ushort ResetOffset = 0xFFF0;
    private readonly byte[] _image;

    public BiosGuest(byte[] image, string name = "bios.bin", BiosKernel? kernel = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Length < MinimumSize || image.Length > MaximumSize || image.Length % (64 * 1024) != 0)
        {
            throw new GuestImageException(
                $"The BIOS image '{name}' is {image.Length} bytes: a BIOS image is a multiple of 64 KiB from {MinimumSize / 1024} KiB to {MaximumSize / (1024 * 1024)} MiB (truncated or not a BIOS?).");
        }

        // The reset vector (16 bytes from the end) must hold code; a zero-filled or truncated image fails here.
        if (image.AsSpan(image.Length - 16, 5).IndexOfAnyExcept((byte)0) < 0)
        {
            throw new GuestImageException($"The BIOS image '{name}' has no code at its reset vector (the last 16 bytes are zero).");
        }

        _image = image;
        Kernel = kernel;
        Description = $"bios {name}" + (kernel is null ? string.Empty : $", kernel {kernel.Kernel.Name}" +
            (kernel.Initrd is null ? string.Empty : $", initrd {kernel.InitrdName}"));
    }

    /// <summary>Reads <paramref name="path"/>.</summary>
    public static BiosGuest FromFile(string path, BiosKernel? kernel = null) => new(ImageFile.Read(path, "BIOS"), path, kernel);

    /// <summary>The kernel the firmware boots through fw_cfg, or null.</summary>
    public BiosKernel? Kernel { get; }

    /// <summary>With a kernel: Linux's default of 256 MiB, as for the <c>linux</c> guest.</summary>
    public ulong? DefaultMemoryBytes => Kernel is null ? null : LinuxGuest.DefaultRamBytes;

    /// <inheritdoc/>
    public string Description { get; }

    /// <inheritdoc/>
    public IReadOnlyList<CoreStart> Load(VirtualMachine vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        if (vm.Memory.RamSize < 0x10_0000)
        {
            throw new GuestImageException($"A BIOS guest needs at least 1 MiB of RAM, the VM has {vm.Memory.RamSize / 1024} KiB.");
        }

        if (vm.Configuration.Cores != 1)
        {
            throw new GuestImageException(
                $"A BIOS guest runs on 1 core, not {vm.Configuration.Cores}: application processors wait for INIT/SIPI, which this VM does not model.");
        }

        if (Kernel is { } k)
        {
            OfferKernel(vm, k);
        }

        vm.Memory.AddRegion(FourGiB - (ulong)_image.Length, (ulong)_image.Length, writable: false, "bios");

        // The local APIC and I/O APIC register pages are plain memory here (no interrupt controller is modelled):
        // firmware probing them reads zeros instead of faulting.
        vm.Memory.AddRegion(LocalApicBase, GuestMemory.PageSize, writable: true, "lapic");
        vm.Memory.AddRegion(IoApicBase, GuestMemory.PageSize, writable: true, "ioapic");
        vm.Memory.Load(FourGiB - (ulong)_image.Length, _image);
        int shadow = Math.Min(ShadowSize, _image.Length);
        vm.Memory.Load(0x10_0000 - (ulong)shadow, _image.AsSpan(_image.Length - shadow));
        var starts = new List<CoreStart>();
        for (int i = 0; i < vm.Configuration.Cores; i++)
        {
            starts.Add(new CoreStart(CoreStartMode.Real, ResetSegment, ResetOffset, 0));
        }

        return starts;
    }

    /// <summary>Checks everything, then fills fw_cfg (before any memory is touched).</summary>
    private static void OfferKernel(VirtualMachine vm, BiosKernel k)
    {
        if (vm.Ports.HandlerAt(StandardPorts.FwCfgSelector) is not FwCfg fwCfg)
        {
            throw new GuestImageException("A kernel booted through the BIOS is read from fw_cfg: attach the standard devices before loading the guest.");
        }

        if (fwCfg.HasFile(FwCfgLinuxBoot.OptionRomFile))
        {
            throw new GuestImageException("fw_cfg already offers a kernel: this VM's BIOS guest was loaded before.");
        }

        LinuxBootLayout layout = LinuxBootLayout.Compute(k.Kernel, vm.Memory.RamSize, k.Initrd?.Length ?? 0, Encoding.ASCII.GetByteCount(k.CommandLine));
        _ = FwCfgLinuxBoot.VideoMode(k.CommandLine);
        FwCfgLinuxBoot.Install(fwCfg, k.Kernel, k.Initrd, k.CommandLine, layout, k.OptionRom);
    }
}
