// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Asm;

/// <summary>
/// A statement that cannot be assembled. The message names the statement (its line, its number in the source and its
/// text) and the problem, e.g. <c>line 1, statement 3 'mov rax, rbx, rcx': 'mov' does not take 3 operand(s)</c>.
/// </summary>
public sealed class AssemblyException : Exception
{
    public AssemblyException()
    {
    }

    public AssemblyException(string message)
        : base(message)
    {
    }

    public AssemblyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
