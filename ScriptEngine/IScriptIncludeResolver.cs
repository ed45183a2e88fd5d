// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script;

/// <summary>Supplies the text of <c>#include "file"</c> (spec 6.1) at compile time.</summary>
public interface IScriptIncludeResolver
{
    /// <summary>Returns the text of <paramref name="fileName"/> (as written between the quotes), or null when there is
    /// no such file; null makes the <c>#include</c> a compile error.</summary>
    string? Resolve(string fileName);
}
