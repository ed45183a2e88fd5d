// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

/// <summary>One member of a struct: its type and byte offset from the start.</summary>
internal sealed record StructField(string Name, CType Type, int Offset);

/// <summary>
/// A <c>struct name { ... };</c> definition laid out like C on x64 (spec 6.2): each member at the next multiple of
/// its natural alignment, the size rounded up to the largest member alignment. Compared by reference.
/// </summary>
internal sealed class StructLayout
{
    private readonly List<StructField> _fields = [];

    public StructLayout(string name)
    {
        Name = name;
    }

    public string Name { get; }

    public IReadOnlyList<StructField> Fields => _fields;

    public int Size { get; private set; }

    public int Alignment { get; private set; } = 1;

    /// <summary>Appends a member at its aligned offset.</summary>
    public void Add(string name, CType type)
    {
        int alignment = type.Alignment;
        int offset = (Size + alignment - 1) / alignment * alignment;
        _fields.Add(new StructField(name, type, offset));
        Alignment = Math.Max(Alignment, alignment);
        Size = offset + type.Size;
    }

    /// <summary>Pads the size to a multiple of the alignment (arrays of the struct stay aligned).</summary>
    public void Close() => Size = (Size + Alignment - 1) / Alignment * Alignment;

    public StructField? Find(string name) => _fields.Find(f => f.Name == name);

    public override string ToString() => "struct " + Name;
}
