// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

/// <summary>Declared variable types (spec 6.2). Integer types are stored as 64-bit values and converted on assignment
/// like C (truncate, then sign- or zero-extend); <see cref="Untyped"/> is HyperDbg's implicit 64-bit variable.</summary>
internal enum ScalarType
{
    Untyped,
    Void,
    Bool,
    Char,
    UChar,
    Short,
    UShort,
    Int,
    UInt,
    Long,
    ULong,
    Float,
    Double,

    /// <summary>The scalar of a <see cref="CType"/> that is a struct (or points to one).</summary>
    Struct,
}

internal static class ScalarTypes
{
    public static bool IsFloating(this ScalarType type) => type is ScalarType.Float or ScalarType.Double;

    /// <summary>Converts an integer to <paramref name="type"/> the way a C assignment would.</summary>
    public static ulong Convert(ScalarType type, ulong value) => type switch
    {
        ScalarType.Bool => value != 0 ? 1UL : 0UL,
        ScalarType.Char => unchecked((ulong)(long)(sbyte)value),
        ScalarType.UChar => (byte)value,
        ScalarType.Short => unchecked((ulong)(long)(short)value),
        ScalarType.UShort => (ushort)value,
        ScalarType.Int => unchecked((ulong)(long)(int)value),
        ScalarType.UInt => (uint)value,
        _ => value,
    };

    public static bool NeedsConversion(ScalarType type) =>
        type is ScalarType.Bool or ScalarType.Char or ScalarType.UChar or ScalarType.Short or ScalarType.UShort or ScalarType.Int or ScalarType.UInt;
}
