// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Meta;
using HyperDbgRemote.Commands.Parsing;

namespace HyperDbgRemote.Commands.Tests;

public sealed class TokenizerTests
{
    private static string[] Values(string text)
    {
        Assert.That(Tokenizer.TryTokenize(text, out List<Token> tokens, out string? error), Is.True, error);
        return [.. tokens.Select(t => t.Value)];
    }

    [Test]
    public void Tokenize_BracesQuotesComments()
    {
        Assert.That(Values("!ioout 3f8 script { if (@al == 1) { printf(\"x\"); } } // note"), Is.EqualTo(new[] { "!ioout", "3f8", "script", " if (@al == 1) { printf(\"x\"); } " }));
        Assert.That(Values("a \"b c\" /* gone */ d{e}"), Is.EqualTo(new[] { "a", "b c", "d", "e" }));
        Assert.That(Values("x { // kept \\} }"), Is.EqualTo(new[] { "x", " // kept } " }));
    }

    [TestCase("a { b", new[] { "a", " b" })]
    [TestCase("a } b", new[] { "a", "}", "b" })]
    [TestCase("a \"b c", new[] { "a", "b c" })]
    public void Tokenize_Unbalanced_RestOfInputAsHyperDbgDoes(string text, string[] expected) =>
        Assert.That(Values(text), Is.EqualTo(expected));

    [Test]
    public void Tokenize_UriIsNotAComment_ButMidWordCommentIs()
    {
        Assert.That(Values(".connect grpc://127.0.0.1:50051"), Is.EqualTo(new[] { ".connect", "grpc://127.0.0.1:50051" }));
        Assert.That(Values("final// gone"), Is.EqualTo(new[] { "final" }));
    }

    [TestCase("10", 0x10UL)]
    [TestCase("0n10", 10UL)]
    [TestCase("0x10", 0x10UL)]
    [TestCase("0y101", 5UL)]
    [TestCase("0o17", 15UL)]
    [TestCase("fffff801`68d91267", 0xfffff80168d91267UL)]
    public void Numbers_Prefixes(string text, ulong expected)
    {
        Assert.That(Numbers.TryParse(text, out ulong v), Is.True);
        Assert.That(v, Is.EqualTo(expected));
    }

    [TestCase("1ffffffffffffffff")]
    [TestCase("12g")]
    [TestCase("0n12a")]
    public void Numbers_OverflowOrGarbage_Rejected(string text) => Assert.That(Numbers.TryParse(text, out _), Is.False);

    [Test]
    public void Script_ArgSubstitution_Arg1DoesNotClobberArg10()
    {
        string[] args = ["path", .. Enumerable.Range(1, 10).Select(i => $"v{i}")];
        Assert.That(ScriptFileCommand.Substitute("$arg10 $arg1 $arg0", args), Is.EqualTo("v10 v1 path"));
    }

    [Test]
    public void Script_SplitCommands_JoinsLinesWhileBraceOpen()
    {
        Assert.That(ScriptFileCommand.SplitCommands("r\n? {\n print(1);\n}\n\ng\n"), Is.EqualTo(new[] { "r", "? {\n print(1);\n}", "g" }));
    }
}
