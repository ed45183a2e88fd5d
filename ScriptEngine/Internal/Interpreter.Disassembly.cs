// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Iced.Intel;

namespace HyperDbgRemote.Script.Internal;

internal sealed partial class Interpreter
{
    private const int Bitness64 = 64;
    private const int Bitness32 = 32;
    private const int MaxInstructionLength = 15;

    /// <summary>disassemble_len*: the length of the instruction at <paramref name="address"/> (Iced), 0 when the bytes
    /// cannot be read or do not decode.</summary>
    private ulong InstructionLength(ulong address, int bitness)
    {
        var bytes = new byte[MaxInstructionLength];
        int available = 0;
        while (available < bytes.Length)
        {
            int read = ReadChunk(address + (ulong)available, bytes.AsSpan(available));
            if (read == 0)
            {
                break;
            }

            available += read;
        }

        if (available == 0)
        {
            return 0;
        }

        var decoder = Decoder.Create(bitness, new ByteArrayCodeReader(bytes, 0, available), address);
        decoder.Decode(out Iced.Intel.Instruction instruction);
        return instruction.IsInvalid ? 0UL : (ulong)instruction.Length;
    }
}
