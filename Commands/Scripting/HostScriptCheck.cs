// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Script;

namespace HyperDbgRemote.Commands.Scripting;

/// <summary>
/// Compiles a script on the host before it is sent, so a syntax error is shown with its line, column and caret and
/// nothing reaches the debuggee. Symbols (<c>nt!Name</c>) are the guest's: the agent resolves them, so here any
/// symbol is accepted. <c>#include "file"</c> reads the debugger's files (relative to the current directory, as
/// HyperDbg's console does); their texts travel with the script, so the agent compiles exactly what was checked.
/// </summary>
internal static class HostScriptCheck
{
    /// <summary>Null when the script compiles, else the compiler's message.</summary>
    public static string? Check(string script) => Check(script, out _);

    /// <summary>Null when the script compiles, else the compiler's message; <paramref name="includes"/> holds the text
    /// of every file it includes, by the name written in the script.</summary>
    public static string? Check(string script, out Dictionary<string, string> includes) => Check(script, out includes, out _);

    /// <summary>As <see cref="Check(string, out Dictionary{string, string})"/>, with the compiler's warnings (empty
    /// when it does not compile).</summary>
    public static string? Check(string script, out Dictionary<string, string> includes, out IReadOnlyList<string> warnings) =>
        Check(script, out includes, out warnings, CancellationToken.None);

    /// <summary>As <see cref="Check(string, out Dictionary{string, string}, out IReadOnlyList{string})"/>; stops with
    /// <see cref="OperationCanceledException"/> when the command is interrupted.</summary>
    public static string? Check(string script, out Dictionary<string, string> includes, out IReadOnlyList<string> warnings, CancellationToken cancellationToken)
    {
        var files = new FileIncludes();
        includes = files.Read;
        var options = new ScriptCompileOptions { SymbolResolver = new AnySymbol(), IncludeResolver = files };
        bool ok = ScriptCompiler.TryCompile(script, out CompiledScript? compiled, out string? error, options, cancellationToken);
        warnings = compiled?.Warnings ?? [];
        return ok ? null : error;
    }

    private sealed class FileIncludes : IScriptIncludeResolver
    {
        public Dictionary<string, string> Read { get; } = new(StringComparer.Ordinal);

        public string? Resolve(string fileName)
        {
            if (Read.TryGetValue(fileName, out string? known))
            {
                return known;
            }

            try
            {
                string? text = File.Exists(fileName) ? File.ReadAllText(fileName) : null;
                if (text is not null)
                {
                    Read[fileName] = text;
                }

                return text;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                return null;
            }
        }
    }

    private sealed class AnySymbol : IScriptSymbolResolver
    {
        public bool TryResolve(string qualifiedName, out ulong address)
        {
            address = 0;
            return true;
        }
    }
}
