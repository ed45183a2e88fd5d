// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;
using HyperDbgRemote.Commands.Extension;
using HyperDbgRemote.Commands.Meta;
using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Commands.Scripting;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Commands.Tests;

/// <summary>
/// The help of every command against Golden/help.txt (the overview, then <c>help CMD</c> for each command), so a
/// change to any syntax line, description or example is a deliberate, reviewed change. After changing help on
/// purpose, regenerate with <c>HYPERDBG_UPDATE_GOLDEN=1 ./build.sh test --filter HelpGolden</c> and review the diff.
/// </summary>
public sealed class HelpGoldenTests
{
    private const string UpdateVariable = "HYPERDBG_UPDATE_GOLDEN";

    private static string GoldenPath(bool source)
    {
        string relative = Path.Combine("Golden", "help.txt");
        if (!source)
        {
            return Path.Combine(AppContext.BaseDirectory, relative);
        }

        string root = ConformanceRoot.SolutionDirectory() ?? throw new AssertionException("HyperDbgRemote.sln not found");
        return Path.Combine(root, "test", "Commands.Tests", relative);
    }

    private static string Render()
    {
        var registry = new CommandRegistry();
        var text = new StringBuilder();
        text.Append("==== help\n").Append(HelpCommand.Overview(registry));
        foreach (IDebuggerCommand c in registry.All)
        {
            text.Append("==== help ").Append(c.Names[0]).Append('\n').Append(HelpCommand.Detail(registry, c.Names[0]));
        }

        return text.ToString();
    }

    [Test]
    public void Help_EveryCommand_MatchesGolden()
    {
        string actual = Render();
        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            File.WriteAllText(GoldenPath(source: true), actual);
            Assert.Ignore($"{GoldenPath(source: true)} rewritten: review the diff");
        }

        string expected = File.ReadAllText(GoldenPath(source: false)).ReplaceLineEndings("\n");
        Assert.That(actual, Is.EqualTo(expected), $"help changed; if on purpose, run with {UpdateVariable}=1 and review the diff");
    }

    [Test]
    public void Help_EveryCommandHasSyntaxAndExamples()
    {
        foreach (IDebuggerCommand c in new CommandRegistry().All)
        {
            Assert.That(c.Syntax, Is.Not.Empty, c.Names[0]);
            Assert.That(c.Examples, Is.Not.Empty, c.Names[0]);
            Assert.That(c.Description, Is.Not.Empty, c.Names[0]);
        }
    }

    [Test]
    public void Help_EveryExample_TokenizesAndItsScriptsAndEventsParse()
    {
        foreach (IDebuggerCommand c in new CommandRegistry().All)
        {
            foreach (string example in c.Examples)
            {
                Assert.That(Tokenizer.TryTokenize(example, out List<Token> tokens, out string? error), Is.True, $"{example}: {error}");
                if (c is IoEventCommand io)
                {
                    Assert.DoesNotThrow(() => io.Parse([.. tokens.Skip(1)], example), example);
                }
                else if (c.Names.Contains("?") && tokens.Count > 1)
                {
                    string script = tokens.Count == 2 && tokens[1].IsBracket ? tokens[1].Value : example[(example.IndexOf(' ', StringComparison.Ordinal) + 1)..];
                    Assert.That(HostScriptCheck.Check(script), Is.Null, example);
                }
            }
        }
    }

    [Test]
    public void Help_UnknownCommand_NamesIt()
    {
        Assert.That(() => HelpCommand.Detail(new CommandRegistry(), "bogus"), Throws.TypeOf<CommandException>().With.Message.Contains("unknown command 'bogus'"));
    }
}
