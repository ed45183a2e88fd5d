// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>
/// The exit qualification of an I/O-instruction VM exit (SDM Vol. 3C, "Exit Qualification for I/O Instructions"):
/// bits 2:0 size of access (0 = 1 byte, 1 = 2 bytes, 3 = 4 bytes), bit 3 direction (1 = IN), bit 4 string instruction,
/// bit 5 REP prefixed, bit 6 operand encoding (1 = immediate), bits 31:16 port number; all other bits reserved (0).
/// </summary>
public readonly record struct IoExitQualification(ulong Raw)
{
    private const int SizeMask = 0b111;
    private const int DirectionBit = 3;
    private const int StringBit = 4;
    private const int RepBit = 5;
    private const int ImmediateBit = 6;
    private const int PortShift = 16;

    /// <summary>Size of the access in bytes: 1, 2 or 4.</summary>
    public int Size => (int)(Raw & SizeMask) + 1;

    /// <summary>True for IN/INS, false for OUT/OUTS.</summary>
    public bool IsIn => (Raw >> DirectionBit & 1) != 0;

    /// <summary>True for INS/OUTS.</summary>
    public bool IsString => (Raw >> StringBit & 1) != 0;

    /// <summary>True when the instruction has a REP prefix.</summary>
    public bool IsRep => (Raw >> RepBit & 1) != 0;

    /// <summary>True when the port is an immediate operand, false when it is in DX.</summary>
    public bool IsImmediate => (Raw >> ImmediateBit & 1) != 0;

    /// <summary>The port number.</summary>
    public ushort Port => (ushort)(Raw >> PortShift);

    /// <summary>Encodes a qualification.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is not 1, 2 or 4.</exception>
    public static IoExitQualification Create(int size, bool isIn, bool isString, bool isRep, bool isImmediate, ushort port)
    {
        if (size is not (1 or 2 or 4))
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "The size of an I/O access is 1, 2 or 4 bytes.");
        }

        ulong raw = (ulong)(uint)(size - 1)
            | (isIn ? 1UL << DirectionBit : 0)
            | (isString ? 1UL << StringBit : 0)
            | (isRep ? 1UL << RepBit : 0)
            | (isImmediate ? 1UL << ImmediateBit : 0)
            | ((ulong)(uint)port << PortShift);
        return new IoExitQualification(raw);
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{(IsIn ? "IN" : "OUT")}{(IsString ? "S" : string.Empty)}{(IsRep ? " REP" : string.Empty)} port {Port:X4} size {Size} {(IsImmediate ? "imm" : "dx")} (0x{Raw:X})";
}
