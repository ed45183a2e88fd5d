// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Tests;

/// <summary>Short helpers: compile and run a script against a <see cref="TestScriptTarget"/> with RAM mapped.</summary>
internal static class ScriptHarness
{
    public const ulong Ram = 0x10000;
    public const ulong RamSize = 0x4000;
    public const ulong Unmapped = 0xDEAD0000;

    public static TestScriptTarget Target()
    {
        var target = new TestScriptTarget { [ScriptRegister.Rsp] = Ram + (RamSize / 2) };
        target.Map(Ram, RamSize);
        return target;
    }

    /// <summary>Runs <c>test_statement(expression);</c> and returns the recorded value; fails the test on any error.</summary>
    public static ulong Eval(string expression, TestScriptTarget? target = null) => Last($"test_statement({expression});", target);

    /// <summary>Runs a script that must succeed and returns the last test_statement value.</summary>
    public static ulong Last(string source, TestScriptTarget? target = null)
    {
        target ??= Target();
        ScriptRunResult result = Run(source, target);
        Assert.That(result.Success, Is.True, result.Error);
        Assert.That(target.TestValues, Is.Not.Empty, "the script recorded nothing");
        return target.TestValues[^1];
    }

    public static ScriptRunResult Run(string source, TestScriptTarget target, ScriptGlobals? globals = null, ScriptRunContext context = default)
    {
        CompiledScript script = ScriptCompiler.Compile(source, new ScriptCompileOptions { SymbolResolver = target });
        return script.Run(target, globals ?? new ScriptGlobals(), context);
    }

    /// <summary>Runs a script that must succeed and returns everything it printed.</summary>
    public static string Output(string source, TestScriptTarget? target = null)
    {
        target ??= Target();
        ScriptRunResult result = Run(source, target);
        Assert.That(result.Success, Is.True, result.Error);
        return target.Output;
    }

    /// <summary>Runs a script that must fail at run time and returns the error.</summary>
    public static string RunError(string source, TestScriptTarget? target = null)
    {
        target ??= Target();
        ScriptRunResult result = Run(source, target);
        Assert.That(result.Success, Is.False, "the run should fail");
        return result.Error!;
    }

    public static ScriptCompileException CompileError(string source) =>
        Assert.Throws<ScriptCompileException>(() => ScriptCompiler.Compile(source))!;
}
