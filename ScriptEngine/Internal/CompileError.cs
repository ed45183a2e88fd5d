// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

/// <summary>Builds <see cref="ScriptCompileException"/>s with 1-based line and column from a source offset.</summary>
internal static class CompileError
{
    public static ScriptCompileException At(string source, int offset, string cause, string? fileName = null)
    {
        offset = Math.Clamp(offset, 0, source.Length);
        int line = 1;
        int lineStart = 0;
        for (int i = 0; i < offset; i++)
        {
            if (source[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        int lineEnd = source.IndexOf('\n', lineStart);
        if (lineEnd < 0)
        {
            lineEnd = source.Length;
        }

        string text = source[lineStart..lineEnd].TrimEnd('\r');
        return new ScriptCompileException(cause, line, offset - lineStart + 1, text, fileName);
    }

    public static ScriptCompileException At(string source, Token token, string cause) => At(source, token.Offset, cause);
}
