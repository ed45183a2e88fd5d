// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics.CodeAnalysis;
using HyperDbgRemote.Script.Internal;

namespace HyperDbgRemote.Script;

/// <summary>
/// Compiles HyperDbg's script language (spec 6; docs/script-language.md) into a <see cref="CompiledScript"/>. Pure and
/// thread-safe: it touches no target; <c>module!symbol</c> tokens are resolved through
/// <see cref="ScriptCompileOptions.SymbolResolver"/> and <c>#include</c> files through
/// <see cref="ScriptCompileOptions.IncludeResolver"/>. The host compiles to report errors before anything is sent;
/// the agent compiles and runs (STYLE 39).
/// </summary>
public static class ScriptCompiler
{
    /// <summary>Compiles <paramref name="source"/> or throws <see cref="ScriptCompileException"/> (line, column,
    /// source line and caret in its message). Sources longer than <see cref="ScriptLimits.MaxSourceLength"/> are
    /// rejected.</summary>
    public static CompiledScript Compile(string source, ScriptCompileOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Length > ScriptLimits.MaxSourceLength)
        {
            throw new ScriptCompileException(
                $"the script is {source.Length:N0} characters long; the limit is {ScriptLimits.MaxSourceLength:N0}");
        }

        var text = new SourceText(source);
        List<Token> tokens = Includes.Expand(Lexer.Tokenize(source, options?.SymbolResolver), text, options);
        ScriptProgram program = Parser.Parse(text, tokens);
        ScriptProgramImage image = CodeGenerator.Generate(text, program);
        return new CompiledScript(source, image);
    }

    /// <summary>Compiles <paramref name="source"/>; on failure returns false and the full error text
    /// (the exception message).</summary>
    public static bool TryCompile(
        string source,
        [NotNullWhen(true)] out CompiledScript? script,
        [NotNullWhen(false)] out string? error,
        ScriptCompileOptions? options = null)
    {
        try
        {
            script = Compile(source, options);
            error = null;
            return true;
        }
        catch (ScriptCompileException e)
        {
            script = null;
            error = e.Message;
            return false;
        }
    }
}
