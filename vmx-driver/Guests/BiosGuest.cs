// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Guests;

/// <summary>
/// A PC BIOS image at the reset vector: the image is mapped read-only just below 4 GiB and its last 128 KiB are copied
/// into RAM at 0xE0000–0xFFFFF (what the chipset's PAM shadowing gives). Execution starts at F000:FFF0 (the engine
/// cannot give CS the architectural base 0xFFFF0000; the shadow copy makes the first far jump land identically).
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

    public BiosGuest(byte[] image, string name = "bios.bin")
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
        Description = $"bios {name}";
    }

    /// <summary>Reads <paramref name="path"/>.</summary>
    public static BiosGuest FromFile(string path) => new(ImageFile.Read(path, "BIOS"), path);

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
}
