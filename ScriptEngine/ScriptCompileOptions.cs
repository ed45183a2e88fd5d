// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script;

/// <summary>Optional inputs of <see cref="ScriptCompiler.Compile(string, ScriptCompileOptions?)"/>.</summary>
public sealed class ScriptCompileOptions
{
    /// <summary>Resolves <c>module!symbol</c> tokens; null means every such token is a compile error.</summary>
    public IScriptSymbolResolver? SymbolResolver { get; init; }

    /// <summary>Supplies the files of <c>#include "file"</c>; null means every <c>#include</c> is a compile error
    /// ("includes are not available here").</summary>
    public IScriptIncludeResolver? IncludeResolver { get; init; }
}
