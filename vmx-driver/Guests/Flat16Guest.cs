// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Guests;

/// <summary>
/// A flat 16-bit image (or a boot sector) loaded at SEG:OFF and entered in real mode there, with SS:SP = 0000:7000
/// below a boot sector's 0x7C00 (or just below the image when it lies lower).
/// </summary>
public sealed class Flat16Guest : IGuestLoader
{
    private readonly byte[] _image;
    private readonly ushort _segment;
    private readonly ushort _offset;

    public Flat16Guest(byte[] image, ushort segment, ushort offset, string name = "image")
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Length == 0)
        {
            throw new GuestImageException($"The flat16 image '{name}' is empty.");
        }

        _image = image;
        _segment = segment;
        _offset = offset;
        Description = $"flat16 {name} at {segment:X4}:{offset:X4}";
    }

    /// <summary>Reads <paramref name="path"/>.</summary>
    public static Flat16Guest FromFile(string path, ushort segment, ushort offset) => new(ImageFile.Read(path, "flat16"), segment, offset, path);

    /// <inheritdoc/>
    public string Description { get; }

    /// <inheritdoc/>
    public IReadOnlyList<CoreStart> Load(VirtualMachine vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        ulong linear = ((ulong)_segment << 4) + _offset;
        ImageFile.CheckFits(Description, linear, _image.Length, Math.Min(vm.Memory.RamSize, 0x10_0000 + 0xFFF0));
        vm.Memory.Load(linear, _image);
        ushort sp = linear > 0x7000 ? (ushort)0x7000 : (ushort)Math.Max(0x400, linear & 0xFFF0);
        var starts = new List<CoreStart>();
        for (int i = 0; i < vm.Configuration.Cores; i++)
        {
            starts.Add(new CoreStart(CoreStartMode.Real, _segment, _offset, (ulong)(sp - (i * 0x400))));
        }

        return starts;
    }
}
