// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using static HyperDbgRemote.Script.Tests.ScriptHarness;

namespace HyperDbgRemote.Script.Tests;

public sealed partial class CompiledScriptTests
{
    private const string FormatsOf0x10 = """
        evaluate expression:
        Hex :        00000000`00000010
        Decimal :    16
        Octal :      20
        Binary :     00000000 00000000 00000000 00000000 00000000 00000000 00000000 00010000 
        Char :       ........

        """;

    [Test]
    public void Run_Formats_PrintsTheValueInEveryFormatAsOneMessage()
    {
        // Arrange
        TestScriptTarget target = Target();

        // Act
        string output = Output("formats(10);", target);

        // Assert
        Assert.That(output, Is.EqualTo(FormatsOf0x10.ReplaceLineEndings("\n")));
        Assert.That(target.Messages, Has.Count.EqualTo(1));
    }

    [TestCase("-1", "ffffffff`ffffffff", "-1", "1777777777777777777777", "........")]
    [TestCase("0x4142", "00000000`00004142", "16706", "40502", "BA......")]
    [TestCase("0x7E20_0000_0000_0061", "7e200000`00000061", "9088264048033661025", "770400000000000000141", "a..... ~")]
    [TestCase("0", "00000000`00000000", "0", "0", "........")]
    public void Run_Formats_HexDecimalOctalAndChars(string value, string hex, string dec, string octal, string chars)
    {
        // Act
        string[] lines = Output($"formats({value});").Split('\n');

        // Assert
        Assert.That(lines[1], Is.EqualTo("Hex :        " + hex));
        Assert.That(lines[2], Is.EqualTo("Decimal :    " + dec));
        Assert.That(lines[3], Is.EqualTo("Octal :      " + octal));
        Assert.That(lines[5], Is.EqualTo("Char :       " + chars));
    }

    [Test]
    public void Run_FormatsOfMinusOne_PrintsAllOnesBinary()
    {
        string binary = Output("formats(-1);").Split('\n')[4];
        Assert.That(binary, Is.EqualTo("Binary :     " + string.Concat(Enumerable.Repeat("11111111 ", 8))));
    }

    [Test]
    public void Run_FormatsOfExpression_EvaluatesIt()
    {
        Assert.That(Output("int arr[2] = {8, 8}; formats(arr[0] + arr[1]);"), Is.EqualTo(FormatsOf0x10.ReplaceLineEndings("\n")));
    }

    [TestCase("x = formats(1);", "comes from a function that returns nothing")]
    [TestCase("formats();", "'formats' takes 1 argument(s), not 0")]
    [TestCase("formats(1, 2);", "'formats' takes 1 argument(s), not 2")]
    public void Compile_WrongFormats_ReportsTheCause(string source, string expected)
    {
        Assert.That(CompileError(source).Cause, Does.Contain(expected));
    }
}
