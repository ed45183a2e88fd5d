// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

internal sealed partial class Interpreter
{
    private const int ScanChunk = 64;

    /// <summary>strlen/wcslen/strcmp/strncmp/wcscmp/wcsncmp/memcmp with C semantics (spec 6.8); comparisons return
    /// -1, 0 or 1 as a 64-bit value. One operation each, as in HyperDbg; a scan stops after <see cref="ScriptLimits.MaxStringScan"/>
    /// units.</summary>
    private bool TryStringFunction(BuiltinId id, ReadOnlySpan<ulong> args, out ulong result)
    {
        result = 0;
        switch (id)
        {
            case BuiltinId.Strlen or BuiltinId.Wcslen:
                {
                    int unit = id == BuiltinId.Wcslen ? sizeof(char) : sizeof(byte);
                    if (!TryMeasure(args[0], unit, ScriptLimits.MaxStringScan, out int length))
                    {
                        return Error(id, $"cannot read a terminated string at 0x{args[0]:x}");
                    }

                    result = (ulong)length;
                    return true;
                }

            default:
                {
                    int unit = id is BuiltinId.Wcscmp or BuiltinId.Wcsncmp ? sizeof(char) : sizeof(byte);
                    bool bounded = id is BuiltinId.Strncmp or BuiltinId.Wcsncmp or BuiltinId.Memcmp;
                    bool stopAtNul = id != BuiltinId.Memcmp;
                    ulong limit = bounded ? args[2] : ulong.MaxValue;
                    if (!TryCompare(args[0], args[1], unit, limit, stopAtNul, out int order))
                    {
                        return Error(id, $"cannot read the strings at 0x{args[0]:x} and 0x{args[1]:x}");
                    }

                    result = unchecked((ulong)(long)order);
                    return true;
                }
        }
    }

    /// <summary>Counts units (1 or 2 bytes) before a zero unit.</summary>
    private bool TryMeasure(ulong address, int unit, int maxUnits, out int length)
    {
        Span<byte> chunk = stackalloc byte[ScanChunk];
        length = 0;
        ulong cursor = address;
        while (length < maxUnits)
        {
            int read = ReadChunk(cursor, chunk);
            read -= read % unit;
            if (read == 0)
            {
                // A unit straddling a page boundary: read it alone.
                if (!TryReadVirtual(cursor, chunk[..unit]))
                {
                    return false;
                }

                read = unit;
            }

            for (int i = 0; i < read; i += unit)
            {
                if (chunk[i] == 0 && (unit == 1 || chunk[i + 1] == 0))
                {
                    return true;
                }

                length++;
            }

            cursor += (ulong)read;
        }

        return false;
    }

    private bool TryCompare(ulong left, ulong right, int unit, ulong limitUnits, bool stopAtNul, out int order)
    {
        Span<byte> a = stackalloc byte[sizeof(char)];
        Span<byte> b = stackalloc byte[sizeof(char)];
        order = 0;
        for (ulong i = 0; i < limitUnits; i++)
        {
            ulong offset = i * (ulong)unit;
            if (!TryReadVirtual(left + offset, a[..unit]) || !TryReadVirtual(right + offset, b[..unit]))
            {
                return false;
            }

            int x = unit == 1 ? a[0] : BitConverter.ToUInt16(a);
            int y = unit == 1 ? b[0] : BitConverter.ToUInt16(b);
            if (x != y)
            {
                order = x < y ? -1 : 1;
                return true;
            }

            if ((stopAtNul && x == 0) || i >= ScriptLimits.MaxStringScan)
            {
                return true;
            }
        }

        return true;
    }
}
