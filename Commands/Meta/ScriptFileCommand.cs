// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;
using HyperDbgRemote.Commands.Parsing;

namespace HyperDbgRemote.Commands.Meta;

/// <summary>
/// <c>.script PATH [ARGS...]</c>: run a file of debugger commands (spec 7.5). Commands continue over lines while a brace
/// is open; each is echoed with the prompt. <c>$arg0</c> is the path, <c>$arg1</c>… the arguments, replaced longest
/// name first so <c>$arg1</c> never rewrites the start of <c>$arg10</c> (HyperDbg's defect 9.21).
/// </summary>
internal sealed class ScriptFileCommand : IDebuggerCommand
{
    /// <summary>How deep .script may call .script.</summary>
    public const int MaxDepth = 16;

    [ThreadStatic]
    private static int s_depth;

    public IReadOnlyList<string> Names => [".script"];

    public string Description => "run the debugger commands of a file";

    public IReadOnlyList<string> Syntax => [".script Path [Arg1 Arg2 ...]"];

    public IReadOnlyList<string> Examples => [".script /tmp/session.ds", ".script watch.ds 3f8"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        if (arguments.Count == 0)
        {
            throw new CommandException($"incorrect use of '.script'.\nsyntax: {Syntax[0]}");
        }

        string path = arguments[0].Value;
        if (!File.Exists(path))
        {
            throw new CommandException($"invalid file specified for the script: '{path}' cannot be opened.");
        }

        if (s_depth >= MaxDepth)
        {
            throw new CommandException($".script is nested more than {MaxDepth} deep.");
        }

        string text = Substitute(await File.ReadAllTextAsync(path).ConfigureAwait(false), [.. arguments.Select(a => a.Value)]);
        s_depth++;
        try
        {
            foreach (string command in SplitCommands(text))
            {
                context.Output.Prompt(context.Session.Prompt);
                context.Output.Line(command);
                if (!await context.RunLineAsync(command).ConfigureAwait(false))
                {
                    throw new CommandException($".script {path} stopped at a failing command: {command.Split('\n')[0]}");
                }
            }
        }
        finally
        {
            s_depth--;
        }
    }

    /// <summary>Replaces $argN by the arguments, longest names first.</summary>
    public static string Substitute(string text, IReadOnlyList<string> args)
    {
        for (int i = args.Count - 1; i >= 0; i--)
        {
            text = text.Replace($"$arg{i}", args[i], StringComparison.Ordinal);
        }

        return text;
    }

    /// <summary>Joins lines while a brace is open; drops blank lines.</summary>
    public static IEnumerable<string> SplitCommands(string text)
    {
        var current = new StringBuilder();
        foreach (string raw in text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            if (current.Length > 0)
            {
                current.Append('\n');
            }

            current.Append(raw);
            string candidate = current.ToString();
            if (Tokenizer.IsIncomplete(candidate))
            {
                continue;
            }

            if (candidate.Trim().Length > 0)
            {
                yield return candidate.Trim();
            }

            current.Clear();
        }

        if (current.ToString().Trim().Length > 0)
        {
            yield return current.ToString().Trim();
        }
    }
}
