// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

/// <summary>
/// The script and the files it <c>#include</c>s in one offset space: the script starts at 0 and each included file
/// gets a base after the previous one, so syntax-tree offsets stay plain integers and an error still names the file,
/// line and column it comes from.
/// </summary>
internal sealed class SourceText
{
    private readonly List<(int Base, string Text, string? Name)> _files = [];
    private int _end;

    public SourceText(string script)
    {
        Add(null, script);
    }

    /// <summary>Characters of every file together (the script plus its includes).</summary>
    public int TotalLength { get; private set; }

    /// <summary>Adds a file and returns the base added to its local offsets.</summary>
    public int Add(string? name, string text)
    {
        int start = _end;
        _files.Add((start, text, name));
        _end = start + text.Length + 1;
        TotalLength += text.Length;
        return start;
    }

    public ScriptCompileException Error(int offset, string cause)
    {
        (int start, string text, string? name) = _files[0];
        foreach ((int Base, string Text, string? Name) file in _files)
        {
            if (file.Base <= offset)
            {
                (start, text, name) = file;
            }
        }

        return CompileError.At(text, offset - start, cause, name);
    }

    public ScriptCompileException Error(Token token, string cause) => Error(token.Offset, cause);
}
