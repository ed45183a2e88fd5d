// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Asm;

/// <summary>What <see cref="TextAssembler.Assemble"/> produced: the machine code and the address of every label.</summary>
public sealed class AssemblyResult
{
    internal AssemblyResult(byte[] bytes, IReadOnlyDictionary<string, ulong> labels, int lastInstructionOffset)
    {
        Bytes = bytes;
        Labels = labels;
        LastInstructionOffset = lastInstructionOffset;
    }

    /// <summary>The machine code, starting at the address the source was assembled at.</summary>
#pragma warning disable CA1819 // The bytes are handed to loaders and wire messages as an array; the result owns a fresh copy.
    public byte[] Bytes { get; }
#pragma warning restore CA1819

    /// <summary>Every label with its address (names are case-sensitive).</summary>
    public IReadOnlyDictionary<string, ulong> Labels { get; }

    /// <summary>The offset in <see cref="Bytes"/> of the last instruction (not data), or -1 when there is none.</summary>
    public int LastInstructionOffset { get; }

    /// <summary>Deconstructs into <c>(bytes, labels)</c>.</summary>
    public void Deconstruct(out byte[] bytes, out IReadOnlyDictionary<string, ulong> labels)
    {
        bytes = Bytes;
        labels = Labels;
    }
}
