// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

/// <summary>A compiled function: where its code starts and how its frame is laid out.</summary>
/// <param name="Name">Script name (<c>main</c> for the top level).</param>
/// <param name="Entry">Index of the first instruction.</param>
/// <param name="ParameterCount">Parameters, in the first frame slots.</param>
/// <param name="LocalCount">Parameters plus locals.</param>
/// <param name="FrameSize">Locals plus the deepest operand stack the body needs.</param>
internal sealed record FunctionImage(string Name, int Entry, int ParameterCount, int LocalCount, int FrameSize);

/// <summary>Everything the interpreter needs; immutable after compilation and shared by concurrent runs.</summary>
internal sealed class ScriptProgramImage
{
    public required Instruction[] Code { get; init; }

    public required FunctionImage[] Functions { get; init; }

    public required string[] GlobalNames { get; init; }

    /// <summary>Compiler warnings, each in the shape of a compile error prefixed by <c>warning: </c>.</summary>
    public required string[] Warnings { get; init; }

    /// <summary>String literals, NUL-terminated, at <see cref="SyntheticMemory.ConstantsBase"/>.</summary>
    public required byte[] Constants { get; init; }

    public required PrintfFormat[] Formats { get; init; }

    /// <summary>Names of the local arrays, for bounds errors (index = <see cref="OpCode.CheckIndex"/>'s A).</summary>
    public required string[] ArrayNames { get; init; }

    /// <summary>Source text of each function, for error messages (index = function).</summary>
    public required string[] FunctionNames { get; init; }

    /// <summary>How much work the code generator did (tree nodes typed and emitted): tests check it grows linearly
    /// with the script.</summary>
    public long CompileWork { get; init; }
}
