// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;

namespace HyperDbgRemote.Script;

/// <summary>
/// A script that does not compile. <see cref="Exception.Message"/> has HyperDbg's shape (spec 6.10) with 1-based
/// numbers: <c>line L, column C: cause</c> (prefixed by <c>file "name", </c> inside an <c>#include</c>d file), then the offending source line, then a caret under the failing token.
/// </summary>
public sealed class ScriptCompileException : Exception
{
    /// <summary>Creates the exception; <paramref name="line"/> and <paramref name="column"/> are 1-based.</summary>
    public ScriptCompileException(string cause, int line, int column, string sourceLine)
        : this(cause, line, column, sourceLine, null)
    {
    }

    /// <summary>Creates the exception for a position in <paramref name="fileName"/> (an <c>#include</c>d file; null for
    /// the script itself); <paramref name="line"/> and <paramref name="column"/> are 1-based.</summary>
    public ScriptCompileException(string cause, int line, int column, string sourceLine, string? fileName)
        : base(Format(cause, line, column, sourceLine, fileName))
    {
        Cause = cause;
        Line = line;
        Column = column;
        SourceLine = sourceLine;
        FileName = fileName;
    }

    /// <summary>Creates an exception without a source position (line and column 1).</summary>
    public ScriptCompileException(string cause)
        : this(cause, 1, 1, string.Empty)
    {
    }

    /// <summary>Creates an exception without a source position that wraps <paramref name="inner"/>.</summary>
    public ScriptCompileException(string cause, Exception inner)
        : base(cause, inner)
    {
        Cause = cause;
        Line = 1;
        Column = 1;
        SourceLine = string.Empty;
    }

    /// <summary>Creates an exception with no details (for serializers and tests).</summary>
    public ScriptCompileException()
        : this("syntax error")
    {
    }

    /// <summary>What is wrong, without position (e.g. <c>syntax error: unexpected ')'</c>).</summary>
    public string Cause { get; }

    /// <summary>The <c>#include</c>d file holding the failing token; null when it is in the script itself.</summary>
    public string? FileName { get; }

    /// <summary>1-based line of the failing token.</summary>
    public int Line { get; }

    /// <summary>1-based column of the failing token (in characters; a tab counts as one).</summary>
    public int Column { get; }

    /// <summary>The source line holding the failing token (without its newline).</summary>
    public string SourceLine { get; }

    private static string Format(string cause, int line, int column, string sourceLine, string? fileName)
    {
        var text = new StringBuilder();
        if (fileName is not null)
        {
            text.Append("file \"").Append(fileName).Append("\", ");
        }

        text.Append("line ").Append(line).Append(", column ").Append(column).Append(": ").Append(cause);
        if (sourceLine.Length > 0)
        {
            text.Append('\n').Append(sourceLine).Append('\n');

            // Keep tabs so the caret lines up under the token in a terminal.
            for (int i = 0; i < column - 1 && i < sourceLine.Length; i++)
            {
                text.Append(sourceLine[i] == '\t' ? '\t' : ' ');
            }

            text.Append('^');
        }

        return text.ToString();
    }
}
