// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using static HyperDbgRemote.Script.Tests.ScriptHarness;

namespace HyperDbgRemote.Script.Tests;

public sealed partial class ScriptCompilerTests
{
    [Test]
    public void Compile_SyntaxError_ReportsLineColumnAndCaret()
    {
        // Arrange
        string source = "x = 1;\n  y = (2 + );\nz = 3;";

        // Act
        ScriptCompileException error = CompileError(source);

        // Assert
        Assert.That(error.Line, Is.EqualTo(2));
        Assert.That(error.Column, Is.EqualTo(12));
        Assert.That(error.SourceLine, Is.EqualTo("  y = (2 + );"));
        Assert.That(error.Message, Is.EqualTo("line 2, column 12: syntax error: unexpected ')' where a value was expected\n  y = (2 + );\n           ^"));
    }

    [TestCase("ch = 5;", "ch", 1)]
    [TestCase("x = 1;\n  rax += 1;", "rax", 3)]
    [TestCase("if (1) { eax = 0n10; }", "eax", 10)]
    public void Compile_AssignmentToBareRegisterName_WarnsWithPosition(string source, string register, int column)
    {
        CompiledScript script = ScriptCompiler.Compile(source);

        Assert.That(script.Warnings, Has.Count.EqualTo(1));
        Assert.That(script.Warnings[0], Does.StartWith($"warning: line {source.Count(c => c == '\n') + 1}, column {column}: '{register}' is the guest register @{register}, so this writes the register"));
        Assert.That(script.Warnings[0], Does.EndWith("^"));
    }

    [TestCase("@ch = 5;")]
    [TestCase("x = rax + @rbx;")]
    [TestCase("counter = 1; counter++;")]
    public void Compile_NoBareRegisterWritten_NoWarning(string source)
    {
        Assert.That(ScriptCompiler.Compile(source).Warnings, Is.Empty);
    }

    [Test]
    public void Compile_ErrorOnFirstColumn_PutsCaretFirst()
    {
        ScriptCompileException error = CompileError("}");
        Assert.That((error.Line, error.Column), Is.EqualTo((1, 1)));
        Assert.That(error.Message, Does.EndWith("}\n^"));
    }

    [Test]
    public void Compile_SourceAtLimit_IsAccepted_AboveLimit_IsRejected()
    {
        string comment = "//";
        string atLimit = comment + new string(' ', ScriptLimits.MaxSourceLength - comment.Length);
        Assert.That(ScriptCompiler.Compile(atLimit).InstructionCount, Is.EqualTo(1));
        ScriptCompileException error = CompileError(atLimit + " ");
        Assert.That(error.Cause, Does.Contain("65,537").And.Contain("65,536"));
    }

    [Test]
    public void TryCompile_BadScript_ReturnsFalseWithMessage()
    {
        bool ok = ScriptCompiler.TryCompile("x = ;", out CompiledScript? script, out string? error);
        Assert.That(ok, Is.False);
        Assert.That(script, Is.Null);
        Assert.That(error, Does.StartWith("line 1, column 5: syntax error"));
    }

    [Test]
    public void TryCompile_GoodScript_ReturnsScript()
    {
        bool ok = ScriptCompiler.TryCompile("x = 1; .g = x;", out CompiledScript? script, out string? error);
        Assert.That(ok, Is.True, error);
        Assert.That(script!.GlobalNames, Is.EqualTo(new[] { "g" }));
    }

    [TestCase("10", 0x10UL)]
    [TestCase("0x10", 0x10UL)]
    [TestCase("0n10", 10UL)]
    [TestCase("0o17", 15UL)]
    [TestCase("0y1010", 10UL)]
    [TestCase("0xffff`ffff", 0xFFFF_FFFFUL)]
    [TestCase("ffff`0000", 0xFFFF_0000UL)]
    [TestCase("cafe", 0xCAFEUL)]
    [TestCase("0xFFFFFFFFFFFFFFFF", ulong.MaxValue)]
    public void Compile_NumberLiteral_UsesHyperDbgBases(string literal, ulong expected)
    {
        Assert.That(Eval(literal), Is.EqualTo(expected));
    }

    [TestCase("x = 0x1FFFFFFFFFFFFFFFF;", "64 bits")]
    [TestCase("x = 0n12a;", "not a base-10 digit")]
    [TestCase("x = 0y102;", "not a base-2 digit")]
    [TestCase("x = 0t10;", "number prefix")]
    [TestCase("x = 0x;", "digit")]
    [TestCase("x = 1.5x;", "malformed float")]
    public void Compile_BadNumber_Throws(string source, string problem)
    {
        Assert.That(CompileError(source).Cause, Does.Contain(problem));
    }

    [TestCase("x = \"abc;", "unterminated string")]
    [TestCase("x = \"\\q\";", "unknown escape")]
    [TestCase("x = \"\\x123\";", "at most 2")]
    [TestCase("x = L\"\\x12345\";", "at most 4")]
    [TestCase("x = 1; /* never closed", "unterminated comment")]
    [TestCase("x = 1 # 2;", "'#'")]
    [TestCase("x = `1;", "unknown token")]
    public void Compile_BadToken_Throws(string source, string problem)
    {
        Assert.That(CompileError(source).Cause, Does.Contain(problem));
    }

    [Test]
    public void Compile_StringEscapes_EncodeBytes()
    {
        TestScriptTarget target = Target();
        Assert.That(Eval("strlen(\"a\\tb\\n\\\\\\\"\\x41\")", target), Is.EqualTo(7UL));
        Assert.That(Output("printf(\"%s|\", \"q\\x41\\t\");"), Is.EqualTo("qA\t|"));
    }

    [Test]
    public void Compile_Comments_AreIgnored()
    {
        Assert.That(Eval("1 /* two */ + // three\n 2"), Is.EqualTo(3UL));
    }

    [TestCase("x = 1")]
    [TestCase("if (1) test_statement(1);")]
    [TestCase("if 1 { }")]
    [TestCase("while (1) ;")]
    [TestCase("do { } while (1)")]
    [TestCase("for (i = 0; i < 3; 5) { }")]
    [TestCase("else { }")]
    [TestCase("if (1) { } else if (1) { }")]
    [TestCase("x = (1;")]
    [TestCase("1 = x;")]
    [TestCase("abc = 1;")]
    [TestCase("int cafe = 1;")]
    [TestCase("x + 1;")]
    [TestCase("{ x = 1; }")]
    [TestCase("break;")]
    [TestCase("continue;")]
    [TestCase("return 1;")]
    [TestCase("x = ++y;")]
    [TestCase("x = y++;")]
    [TestCase("void v = 1;")]
    [TestCase("int f() { } x = f();")]
    [TestCase("void f() { return 1; }")]
    [TestCase("int f() { return; }")]
    [TestCase("int f() { return 1; } int f() { return 2; }")]
    [TestCase("int f(int x) { return x; } y = f();")]
    [TestCase("void f() { } x = f();")]
    [TestCase("if (1) { int g() { return 1; } }")]
    [TestCase("int poi(int x) { return x; }")]
    public void Compile_InvalidProgram_Throws(string source)
    {
        Assert.That(() => ScriptCompiler.Compile(source), Throws.TypeOf<ScriptCompileException>());
    }

    [Test]
    public void Compile_DeepNesting_IsRejectedNotCrashing()
    {
        string source = "x = " + new string('(', 5000) + "1" + new string(')', 5000) + ";";
        Assert.That(CompileError(source).Cause, Does.Contain("nesting"));
    }

    [Test]
    public void Compile_ManyGlobals_AboveLimit_Throws()
    {
        string source = string.Concat(Enumerable.Range(0, ScriptLimits.GlobalSlots + 1).Select(static i => $".g{i} = 1; "));
        Assert.That(CompileError(source).Cause, Does.Contain("512"));
    }
}
