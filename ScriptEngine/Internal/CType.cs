// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

/// <summary>
/// The C type of a declaration, cast or expression (spec 6.2): a scalar, a pointer to it (<paramref name="Pointers"/>
/// levels of <c>*</c>) or a one-dimensional local array (<paramref name="Length"/> elements; -1 = not an array).
/// Pointers and arrays are 64-bit addresses at run time; the type only decides how <c>*p</c>, <c>p[i]</c>,
/// <c>p + n</c> and <c>sizeof</c> behave. A struct (<paramref name="Struct"/>, scalar <see cref="ScalarType.Struct"/>)
/// and an array are aggregates: they live in the run's locals and, used as a value, are their address.
/// </summary>
internal sealed record CType(ScalarType Scalar, int Pointers, int Length, StructLayout? Struct = null)
{
    /// <summary>The size of a pointer and of an untyped (64-bit) variable.</summary>
    public const int AddressSize = 8;

    public static readonly CType Untyped = new(ScalarType.Untyped, 0, -1);

    public static CType Of(ScalarType scalar) => new(scalar, 0, -1);

    public bool IsArray => Length >= 0;

    public bool IsPointer => !IsArray && Pointers > 0;

    /// <summary>A struct itself (not a pointer to one, not an array of them).</summary>
    public bool IsStruct => Struct is not null && Pointers == 0 && !IsArray;

    /// <summary>Arrays and structs: held in memory, never in one 64-bit cell.</summary>
    public bool IsAggregate => IsArray || IsStruct;

    /// <summary>How the value is held in a 64-bit cell: an address for pointers and arrays, else the scalar.</summary>
    public ScalarType Storage => IsArray || Pointers > 0 ? ScalarType.ULong : Scalar;

    /// <summary>What <c>*p</c> or <c>a[i]</c> yields: the element of an array, the pointee of a pointer.</summary>
    public CType Target => IsArray ? this with { Length = -1 } : this with { Pointers = Pointers - 1 };

    /// <summary>An array used as a value is the address of its first element (C decay).</summary>
    public CType Decay() => IsArray ? this with { Pointers = Pointers + 1, Length = -1 } : this;

    public CType PointerTo() => this with { Pointers = Pointers + 1, Length = -1 };

    /// <summary>Bytes of the type: char 1, short 2, int and float 4, everything else 8; arrays element size × count.</summary>
    public int Size => IsArray ? Target.Size * Length : Pointers > 0 ? AddressSize : Struct?.Size ?? ScalarSize(Scalar);

    /// <summary>Natural alignment (C layout): a scalar's size, 8 for pointers, a struct's largest member alignment.</summary>
    public int Alignment => IsArray ? Target.Alignment : Pointers > 0 ? AddressSize : Struct?.Alignment ?? ScalarSize(Scalar);

    /// <summary>The step of pointer arithmetic: the pointee size (1 for <c>void *</c>, as GCC).</summary>
    public int Stride => Target.Scalar == ScalarType.Void && Target.Pointers == 0 ? 1 : Target.Size;

    public static int ScalarSize(ScalarType scalar) => scalar switch
    {
        ScalarType.Void or ScalarType.Bool or ScalarType.Char or ScalarType.UChar => 1,
        ScalarType.Short or ScalarType.UShort => 2,
        ScalarType.Int or ScalarType.UInt or ScalarType.Float => 4,
        _ => AddressSize,
    };

    public override string ToString()
    {
        string name = Struct is not null ? "struct " + Struct.Name : Scalar switch
        {
            ScalarType.Untyped => "untyped",
            ScalarType.UChar => "unsigned char",
            ScalarType.UShort => "unsigned short",
            ScalarType.UInt => "unsigned int",
            ScalarType.ULong => "unsigned long",
            _ => Scalar.ToString().ToLowerInvariant(),
        };
        return name + new string('*', Pointers) + (IsArray ? $"[{Length}]" : string.Empty);
    }
}
