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
    /// source line and caret in its message). Sources longer than <see cref="ScriptLimits.MaxSourceLength"/> and nesting
    /// deeper than <see cref="ScriptLimits.MaxNesting"/> are rejected; time and stack grow linearly with the source, at
    /// most.</summary>
    public static CompiledScript Compile(string source, ScriptCompileOptions? options = null) => Compile(source, options, CancellationToken.None);

    /// <summary>As <see cref="Compile(string, ScriptCompileOptions?)"/>; stops with <see cref="OperationCanceledException"/>
    /// soon after <paramref name="cancellationToken"/> is cancelled (the request that asked for it is gone).</summary>
    public static CompiledScript Compile(string source, ScriptCompileOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Length > ScriptLimits.MaxSourceLength)
        {
            throw new ScriptCompileException(
                $"the script is {source.Length:N0} characters long; the limit is {ScriptLimits.MaxSourceLength:N0}");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var text = new SourceText(source);
        List<Token> tokens = Includes.Expand(Lexer.Tokenize(source, options?.SymbolResolver, cancellationToken), text, options, cancellationToken);
        ScriptProgram program = Parser.Parse(text, tokens, cancellationToken);
        ScriptProgramImage image = CodeGenerator.Generate(text, program, cancellationToken);
        return new CompiledScript(source, image);
    }

    /// <summary>Compiles <paramref name="source"/>; on failure returns false and the full error text
    /// (the exception message). Cancellation is not a failure: it throws <see cref="OperationCanceledException"/>.</summary>
    public static bool TryCompile(
        string source,
        [NotNullWhen(true)] out CompiledScript? script,
        [NotNullWhen(false)] out string? error,
        ScriptCompileOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        try
        {
            script = Compile(source, options, cancellationToken);
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
