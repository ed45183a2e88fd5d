// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Tests;

public sealed partial class ScriptCompilerTests
{
    private static ScriptRunResult RunWithIncludes(string source, TestScriptTarget target, params (string Name, string Text)[] files)
    {
        var resolver = new FakeIncludeResolver(files);
        CompiledScript script = ScriptCompiler.Compile(source, new ScriptCompileOptions { IncludeResolver = resolver });
        return script.Run(target, new ScriptGlobals());
    }

    private static ScriptCompileException IncludeError(string source, params (string Name, string Text)[] files) =>
        Assert.Throws<ScriptCompileException>(() =>
            ScriptCompiler.Compile(source, new ScriptCompileOptions { IncludeResolver = new FakeIncludeResolver(files) }))!;

    [Test]
    public void Compile_Include_CompilesTheFileInPlace()
    {
        // Arrange
        TestScriptTarget target = ScriptHarness.Target();

        // Act
        ScriptRunResult result = RunWithIncludes(
            "#include \"lib.ds\"\ntest_statement(twice(2) + sizeof(VALUE_T));",
            target,
            ("lib.ds", "typedef unsigned short VALUE_T;\nint twice(int v) { return v * 2; }\n"));

        // Assert
        Assert.That(result.Success, Is.True, result.Error);
        Assert.That(target.TestValues, Is.EqualTo(new[] { 0x4UL + 2 }));
    }

    [Test]
    public void Compile_NestedInclude_ExpandsEveryLevelInOrder()
    {
        // Arrange
        TestScriptTarget target = ScriptHarness.Target();

        // Act
        ScriptRunResult result = RunWithIncludes(
            "x = 1;\n#include \"outer.ds\"\nx = x * 0x10; test_statement(x);",
            target,
            ("outer.ds", "x = x + 2;\n#include \"inner.ds\"\n"),
            ("inner.ds", "x = x + 4;"));

        // Assert
        Assert.That(result.Success, Is.True, result.Error);
        Assert.That(target.TestValues, Is.EqualTo(new[] { 0x70UL }));
    }

    [Test]
    public void Compile_SameFileIncludedTwice_IsNotACycle()
    {
        TestScriptTarget target = ScriptHarness.Target();
        ScriptRunResult result = RunWithIncludes("x = 0;\n#include \"inc.ds\"\n#include \"inc.ds\"\ntest_statement(x);", target, ("inc.ds", "x++;"));
        Assert.That(target.TestValues, Is.EqualTo(new[] { 2UL }), result.Error);
    }

    [Test]
    public void Compile_IncludeWithoutResolver_IsAnError()
    {
        // Act
        ScriptCompileException error = Assert.Throws<ScriptCompileException>(() => ScriptCompiler.Compile("x = 1;\n  #include \"lib.ds\"\n"))!;

        // Assert
        Assert.That(error.Cause, Is.EqualTo("#include: includes are not available here (no include resolver)"));
        Assert.That((error.FileName, error.Line, error.Column), Is.EqualTo(((string?)null, 2, 3)));
    }

    [Test]
    public void Compile_IncludeOfMissingFile_IsAnError()
    {
        ScriptCompileException error = IncludeError("#include \"nope.ds\"");
        Assert.That(error.Cause, Is.EqualTo("#include: cannot find \"nope.ds\""));
        Assert.That(error.Column, Is.EqualTo(10));
    }

    [Test]
    public void Compile_IncludeCycle_IsAnErrorNamingTheChain()
    {
        // Act
        ScriptCompileException error = IncludeError(
            "#include \"a.ds\"",
            ("a.ds", "x = 1;\n#include \"b.ds\""),
            ("b.ds", "\n\n#include \"a.ds\""));

        // Assert
        Assert.That(error.Cause, Is.EqualTo("#include: include cycle: \"a.ds\" -> \"b.ds\" -> \"a.ds\""));
        Assert.That((error.FileName, error.Line, error.Column), Is.EqualTo(("b.ds", 3, 10)));
        Assert.That(error.Message, Does.StartWith("file \"b.ds\", line 3, column 10: #include: include cycle"));
    }

    [Test]
    public void Compile_SelfInclude_IsACycle()
    {
        Assert.That(IncludeError("#include \"me.ds\"", ("me.ds", "#include \"me.ds\"")).Cause, Does.Contain("include cycle: \"me.ds\" -> \"me.ds\""));
    }

    [TestCase(16, true)]
    [TestCase(17, false)]
    public void Compile_IncludeDepth_IsLimitedTo16(int depth, bool compiles)
    {
        // Arrange: f1 includes f2 ... f(depth) assigns.
        (string, string)[] files = [.. Enumerable.Range(1, depth).Select(static i => ($"f{i}", $"#include \"f{i + 1}\"")), ($"f{depth}", "x = 1;")];
        files = [.. files.GroupBy(static f => f.Item1).Select(static g => g.Last())];
        var resolver = new FakeIncludeResolver(files);

        // Act
        TestDelegate compile = () => ScriptCompiler.Compile("#include \"f1\"", new ScriptCompileOptions { IncludeResolver = resolver });

        // Assert
        if (compiles)
        {
            Assert.That(compile, Throws.Nothing);
        }
        else
        {
            Assert.That(Assert.Throws<ScriptCompileException>(compile)!.Cause, Is.EqualTo("#include: includes nested deeper than 16 levels"));
        }
    }

    [TestCase("x = 1;\ny = ;", "syntax error: unexpected ';'", 2, 5)]
    [TestCase("\n  z = $nope;", "'$nope' is not a pseudo-register", 2, 7)]
    [TestCase("x = 1;\n\n   x = undefined_fn(1);", "undefined function 'undefined_fn'", 3, 8)]
    [TestCase("int arr[2];\narr[0] = 1;\narr = 2;", "cannot assign to array 'arr'", 3, 1)]
    public void Compile_ErrorInIncludedFile_NamesFileLineAndColumn(string library, string cause, int line, int column)
    {
        // Act
        ScriptCompileException error = IncludeError("x = 0;\n#include \"lib.ds\"\nx = 2;", ("lib.ds", library));

        // Assert
        Assert.That(error.Cause, Does.Contain(cause));
        Assert.That((error.FileName, error.Line, error.Column), Is.EqualTo(("lib.ds", line, column)));
        Assert.That(error.Message, Does.StartWith($"file \"lib.ds\", line {line}, column {column}: ").And.Contain("^"));
    }

    [Test]
    public void Compile_ErrorInScriptAfterInclude_KeepsTheScriptPosition()
    {
        ScriptCompileException error = IncludeError("#include \"lib.ds\"\nx = ;", ("lib.ds", "y = 1;\ny = 2;\n"));
        Assert.That((error.FileName, error.Line, error.Column), Is.EqualTo(((string?)null, 2, 5)));
    }

    [TestCase("#define X 1", "'#' must start '#include \"file\"'")]
    [TestCase("#include lib", "#include needs a file name in double quotes")]
    [TestCase("#include", "#include needs a file name in double quotes")]
    public void Compile_MalformedInclude_IsAnError(string source, string cause)
    {
        Assert.That(IncludeError(source).Cause, Does.Contain(cause));
    }

    /// <summary>Serves include files from memory.</summary>
    private sealed class FakeIncludeResolver((string Name, string Text)[] files) : IScriptIncludeResolver
    {
        private readonly Dictionary<string, string> _files = files.ToDictionary(static f => f.Name, static f => f.Text);

        public string? Resolve(string fileName) => _files.GetValueOrDefault(fileName);
    }
}
