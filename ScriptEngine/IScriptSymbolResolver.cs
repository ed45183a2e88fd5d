// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script;

/// <summary>Resolves <c>module!symbol</c> tokens (e.g. <c>nt!ExAllocatePoolWithTag</c>) to addresses at compile time
/// (spec 6.1). An unresolved symbol is a compile error.</summary>
public interface IScriptSymbolResolver
{
    /// <summary>Finds the address of <paramref name="qualifiedName"/> (<c>module!symbol</c>, as written).</summary>
    bool TryResolve(string qualifiedName, out ulong address);
}
