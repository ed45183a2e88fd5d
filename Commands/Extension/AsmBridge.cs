// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Asm;
using HyperDbgRemote.Commands.Parsing;

namespace HyperDbgRemote.Commands.Extension;

/// <summary>Assembles <c>asm condition {...}</c> and <c>asm code {...}</c> (x86-64, Intel syntax, at address 0).</summary>
internal static class AsmBridge
{
    private const byte Ret = 0xC3;

    /// <summary>
    /// The machine code of <paramref name="text"/> without a final <c>ret</c>: the caller appends one to every block,
    /// hex or asm, as HyperDbg does, so a block that already ends in <c>ret</c> does not get a second one. A final
    /// <c>ret</c> that a label points past (a jump to the end) is kept, so that label still lands on the appended one.
    /// </summary>
    public static byte[] Assemble(string text, string option, Func<string, CommandException> error)
    {
        ArgumentNullException.ThrowIfNull(error);
        AssemblyResult result;
        try
        {
            result = TextAssembler.Assemble(text ?? string.Empty, 0, 64);
        }
        catch (AssemblyException ex)
        {
            throw error($"asm {option}: {ex.Message}");
        }

        byte[] bytes = result.Bytes;
        bool endsInRet = bytes.Length > 0 && result.LastInstructionOffset == bytes.Length - 1 && bytes[^1] == Ret;
        bool labelAtEnd = result.Labels.Values.Any(a => a == (ulong)bytes.Length);
        return endsInRet && !labelAtEnd ? bytes[..^1] : bytes;
    }
}
