// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Guests;

/// <summary>
/// A flat 64-bit image loaded at an address and entered in long mode with the first 4 GiB identity-mapped. The page
/// tables sit in the last pages of RAM below 1 GiB and the stacks just below them (so a guest that maps its own pages
/// above 1 GiB, as the demo does, keeps them); application processors start at the same entry with RSP 64 KiB lower per
/// core and their index in RDI.
/// </summary>
public sealed class Flat64Guest : IGuestLoader
{
    private readonly byte[] _image;
    private readonly ulong _address;
    private readonly ulong[]? _entries;

    /// <summary>An image in memory (tests, the demo guest).</summary>
    /// <param name="image">The bytes.</param>
    /// <param name="address">Load address, also the bootstrap processor's entry.</param>
    /// <param name="name">For messages.</param>
    /// <param name="coreEntries">Optional entry point per core (index 0 = BSP); default: every core at <paramref name="address"/>.</param>
    public Flat64Guest(byte[] image, ulong address, string name = "image", IReadOnlyList<ulong>? coreEntries = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Length == 0)
        {
            throw new GuestImageException($"The flat64 image '{name}' is empty.");
        }

        _image = image;
        _address = address;
        _entries = coreEntries?.ToArray();
        Description = $"flat64 {name} at 0x{address:X}";
    }

    /// <summary>Reads <paramref name="path"/>.</summary>
    public static Flat64Guest FromFile(string path, ulong address) => new(ImageFile.Read(path, "flat64"), address, path);

    /// <inheritdoc/>
    public string Description { get; }

    /// <summary>The loader's page tables and stacks end here, or at the end of RAM if it is smaller.</summary>
    public const ulong LoaderRegionEnd = 1UL << 30;

    /// <summary>Per-core stack size.</summary>
    public const ulong StackPerCore = 64 * 1024;

    /// <inheritdoc/>
    public IReadOnlyList<CoreStart> Load(VirtualMachine vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        ulong ram = vm.Memory.RamSize;
        ulong tables = Math.Min(ram, LoaderRegionEnd) - IdentityMap.TablesSize;
        ulong stacks = tables - ((ulong)vm.Configuration.Cores * StackPerCore);
        ImageFile.CheckFits(Description, _address, _image.Length, ram);
        if (_address < tables + IdentityMap.TablesSize && _address + (ulong)_image.Length > stacks)
        {
            throw new GuestImageException(
                $"The image '{Description}' ({_image.Length} bytes at 0x{_address:X}) overlaps the loader's stacks and page tables at 0x{stacks:X}-0x{tables + IdentityMap.TablesSize:X}.");
        }

        vm.Memory.Load(_address, _image);
        ulong cr3 = IdentityMap.Build(vm.Memory, tables);
        var starts = new List<CoreStart>();
        for (int i = 0; i < vm.Configuration.Cores; i++)
        {
            ulong entry = _entries is not null && i < _entries.Length ? _entries[i] : _address;
            starts.Add(new CoreStart(CoreStartMode.Long64, 0, entry, tables - ((ulong)i * StackPerCore) - 16, cr3, tables + IdentityMap.GdtOffset));
        }

        return starts;
    }
}
