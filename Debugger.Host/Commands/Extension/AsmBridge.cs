// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Host.Parsing;

namespace HyperDbgRemote.Host.Commands.Extension;

/// <summary>Assembles <c>asm condition {...}</c> and <c>asm code {...}</c> (x86-64, Intel syntax).</summary>
internal static class AsmBridge
{
    public static byte[] Assemble(string text, string option, Func<string, CommandException> error)
    {
        ArgumentNullException.ThrowIfNull(error);
        _ = text;
        throw error($"asm {option} needs the x86 assembler, which this build does not include yet: give the bytes in hex ({option} {{ 48 31 c0 }})");
    }
}
