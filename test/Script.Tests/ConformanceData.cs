// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Script.Tests;

/// <summary>One case of script-engine/expressions/*.txt: the 1-based line of its number, the script and the expected
/// hex value (null for <c>$error$</c>).</summary>
internal sealed record ExpressionCase(string File, int Line, string Script, string? Expected);

/// <summary>Finds ../shared/conformance/ next to the folder holding HyperDbgRemote.sln and reads the script cases.</summary>
internal static class ConformanceData
{
    public const string NotFound = ConformanceRoot.NotFound;
    private const string ErrorMarker = "$error$";
    private const string EndMarker = "$end$";

    public static string? ScriptEngineDirectory => ConformanceRoot.Find("script-engine");

    public static IEnumerable<ExpressionCase> ExpressionCases()
    {
        string? root = ScriptEngineDirectory;
        if (root is null)
        {
            yield break;
        }

        string folder = Path.Combine(root, "expressions");
        if (!Directory.Exists(folder))
        {
            yield break;
        }

        foreach (string path in Directory.GetFiles(folder, "*.txt").Order(StringComparer.Ordinal))
        {
            string[] lines = File.ReadAllLines(path);
            string file = Path.GetFileName(path);
            int i = 0;
            while (i < lines.Length)
            {
                if (lines[i].Trim().Length == 0)
                {
                    i++;
                    continue;
                }

                if (i + 3 >= lines.Length || lines[i + 3].Trim() != EndMarker)
                {
                    throw new InvalidDataException($"{file}:{i + 1}: expected number, script, result and {EndMarker}");
                }

                string expected = lines[i + 2].Trim();
                yield return new ExpressionCase(file, i + 1, lines[i + 1], expected == ErrorMarker ? null : expected);
                i += 4;
            }
        }
    }

    public static IEnumerable<string> SemanticFiles()
    {
        string? root = ScriptEngineDirectory;
        string? folder = root is null ? null : Path.Combine(root, "semantic");
        return folder is null || !Directory.Exists(folder) ? [] : Directory.GetFiles(folder, "*.ds").Order(StringComparer.Ordinal);
    }

    /// <summary>The script inside the outer braces of a <c>? { ... }</c> debugger command (simple brace matching that
    /// skips strings and comments).</summary>
    public static string ExtractScript(string command)
    {
        int open = command.IndexOf('{', StringComparison.Ordinal);
        if (open < 0)
        {
            throw new InvalidDataException("no '{' in the command script");
        }

        int depth = 0;
        for (int i = open; i < command.Length; i++)
        {
            char c = command[i];
            if (c == '"')
            {
                i = command.IndexOf('"', i + 1);
                if (i < 0)
                {
                    break;
                }
            }
            else if (c == '/' && i + 1 < command.Length && command[i + 1] == '/')
            {
                i = command.IndexOf('\n', i);
                if (i < 0)
                {
                    break;
                }
            }
            else if (c == '/' && i + 1 < command.Length && command[i + 1] == '*')
            {
                i = command.IndexOf("*/", i + 2, StringComparison.Ordinal) + 1;
            }
            else if (c == '{')
            {
                depth++;
            }
            else if (c == '}' && --depth == 0)
            {
                return command[(open + 1)..i];
            }
        }

        throw new InvalidDataException("the command script's '{' is never closed");
    }
}
