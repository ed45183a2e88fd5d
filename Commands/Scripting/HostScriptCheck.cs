// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Script;

namespace HyperDbgRemote.Commands.Scripting;

/// <summary>
/// Compiles a script on the host before it is sent, so a syntax error is shown with its line, column and caret and
/// nothing reaches the debuggee. Symbols (<c>nt!Name</c>) are the guest's: the agent resolves them, so here any
/// symbol is accepted.
/// </summary>
internal static class HostScriptCheck
{
    private static readonly ScriptCompileOptions s_options = new() { SymbolResolver = new AnySymbol() };

    /// <summary>Null when the script compiles, else the compiler's message.</summary>
    public static string? Check(string script) =>
        ScriptCompiler.TryCompile(script, out _, out string? error, s_options) ? null : error;

    private sealed class AnySymbol : IScriptSymbolResolver
    {
        public bool TryResolve(string qualifiedName, out ulong address)
        {
            address = 0;
            return true;
        }
    }
}
