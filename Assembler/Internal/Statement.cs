// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Asm.Internal;

/// <summary>
/// One piece of a statement: a label definition (<see cref="Label"/> set) or an instruction, directive or
/// <c>equ</c> (<see cref="Mnemonic"/> set). <c>l1: inc eax</c> gives two pieces with the same number and text.
/// </summary>
/// <param name="Line">1-based source line.</param>
/// <param name="Number">1-based statement number in the whole source (statements are separated by newlines and ';').</param>
/// <param name="Text">The statement as written, trimmed.</param>
/// <param name="Label">The label this piece defines, or null.</param>
/// <param name="Mnemonic">The mnemonic in lower case (or the name before <c>equ</c>), or null for a label.</param>
/// <param name="Head">The first word as written (the case-sensitive name of an <c>equ</c>).</param>
/// <param name="Operands">Everything after the first word, trimmed.</param>
internal sealed record Statement(int Line, int Number, string Text, string? Label, string? Mnemonic, string Head, string Operands)
{
    /// <summary>How error messages name the statement.</summary>
    public string Describe() => $"line {Line}, statement {Number} '{Text}'";
}
