// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using static HyperDbgRemote.Script.Tests.ScriptHarness;

namespace HyperDbgRemote.Script.Tests;

public sealed partial class CompiledScriptTests
{
    [TestCase("%d", "0xFFFFFFFF", "-1")]
    [TestCase("%i", "0n42", "42")]
    [TestCase("%u", "0xFFFFFFFF", "4294967295")]
    [TestCase("%o", "8", "10")]
    [TestCase("%x", "0x1234ABCD5678", "abcd5678")]
    [TestCase("%X", "0xabc", "ABC")]
    [TestCase("%c", "0x41", "A")]
    [TestCase("%p", "0x1234", "0000000000001234")]
    [TestCase("%ld", "0xFFFFFFFE", "-2")]
    [TestCase("%li", "5", "5")]
    [TestCase("%lu", "7", "7")]
    [TestCase("%lo", "9", "11")]
    [TestCase("%lx", "0x1FFFFFFFF", "ffffffff")]
    [TestCase("%hd", "0xFFFF", "-1")]
    [TestCase("%hi", "0x12345", "9029")]
    [TestCase("%hu", "0x1FFFF", "65535")]
    [TestCase("%ho", "0x10008", "10")]
    [TestCase("%hx", "0x12345", "2345")]
    [TestCase("%lld", "-5", "-5")]
    [TestCase("%lli", "0n12", "12")]
    [TestCase("%llu", "-1", "18446744073709551615")]
    [TestCase("%llo", "0x40", "100")]
    [TestCase("%llx", "0x1234ABCD5678", "1234abcd5678")]
    [TestCase("%llX", "0xdeadbeefcafe", "DEADBEEFCAFE")]
    [TestCase("%08x", "0xBEEF", "0000beef")]
    [TestCase("%-6d|", "0n42", "42    |")]
    [TestCase("%6d|", "0n42", "    42|")]
    [TestCase("%+d", "0n42", "+42")]
    [TestCase("% d", "0n42", " 42")]
    [TestCase("%#x", "0xff", "0xff")]
    [TestCase("%#X", "0xff", "0XFF")]
    [TestCase("%#o", "8", "010")]
    [TestCase("%.5d", "0n42", "00042")]
    [TestCase("%8.3x", "0xa", "     00a")]
    [TestCase("100%%", null, "100%")]
    public void Run_PrintfSpecifier_Formats(string specifier, string? value, string expected)
    {
        string source = value is null ? $"printf(\"{specifier}\");" : $"printf(\"{specifier}\", {value});";
        Assert.That(Output(source), Is.EqualTo(expected));
    }

    [Test]
    public void Run_PrintfStrings_ReadMemory()
    {
        // Arrange
        TestScriptTarget target = Target();
        target.Poke(Ram, "kernel\0"u8);
        target.Poke(Ram + 0x10, [(byte)'w', 0, (byte)'i', 0, 0xE9, 0, 0, 0]);

        // Act
        string output = Output($"printf(\"[%s] [%ls] [%ws] [%8s] [%-4.2s] [%s]\", 0x{Ram:x}, 0x{Ram + 0x10:x}, 0x{Ram + 0x10:x}, 0x{Ram:x}, 0x{Ram:x}, \"lit\");", target);

        // Assert: non-ASCII UTF-16 code units print as '?' (spec 6.9).
        Assert.That(output, Is.EqualTo("[kernel] [wi?] [wi?] [  kernel] [ke  ] [lit]"));
    }

    [Test]
    public void Run_PrintfEachCall_IsOneMessage()
    {
        TestScriptTarget target = Target();
        Output("printf(\"a\"); printf(\"b%d\\n\", 1);", target);
        Assert.That(target.Messages, Is.EqualTo(new[] { "a", "b1\n" }));
    }

    [Test]
    public void Run_PrintfBadStringAddress_FailsNamingPrintf()
    {
        Assert.That(RunError($"printf(\"%s\", 0x{Unmapped:x});"), Does.StartWith("printf: ").And.Contain("0xdead0000"));
    }

    [Test]
    public void Run_PrintfLongerThanBuffer_Fails()
    {
        Assert.That(RunError("printf(\"%4000d%4000d\", 1, 2);"), Does.StartWith("printf: ").And.Contain("longer"));
    }

    [TestCase("printf(\"%d %d\", 1);", "2 specifier")]
    [TestCase("printf(\"%d\", 1, 2);", "1 specifier")]
    [TestCase("printf(\"%q\", 1);", "unknown format")]
    [TestCase("printf(\"%lc\", 1);", "unknown format")]
    [TestCase("printf(\"%", "unterminated")]
    [TestCase("printf(x);", "string literal")]
    [TestCase("printf();", "string literal")]
    [TestCase("printf(L\"wide\");", "string literal")]
    public void Compile_BadPrintf_ThrowsNamingTheProblem(string source, string problem)
    {
        Assert.That(CompileError(source).Cause, Does.Contain(problem));
    }
}
