// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using static HyperDbgRemote.Script.Tests.ScriptHarness;

namespace HyperDbgRemote.Script.Tests;

public sealed partial class CompiledScriptTests
{
    [TestCase("x = poi(0xDEAD0000);", "poi: cannot read 8 byte(s) at address 0xdead0000")]
    [TestCase("x = db(0xDEAD0000);", "db: cannot read 1 byte(s)")]
    [TestCase("x = dw(0xDEAD0000);", "dw: cannot read 2 byte(s)")]
    [TestCase("x = dd(0xDEAD0000);", "dd: cannot read 4 byte(s)")]
    [TestCase("x = dq(0xDEAD0000);", "dq: cannot read 8 byte(s)")]
    [TestCase("x = hi(0xDEAD0000);", "hi: cannot read")]
    [TestCase("x = low(0xDEAD0000);", "low: cannot read")]
    [TestCase("x = poi_pa(0xDEAD0000);", "poi_pa: cannot read 8 byte(s) at physical address")]
    [TestCase("x = *0xDEAD0000;", "poi: cannot read")]
    [TestCase("*0xDEAD0000 = 1;", "'*': cannot write 8 bytes at 0xdead0000")]
    [TestCase("x = 1 / 0;", "'/': division by zero")]
    [TestCase("x = 1 % 0;", "'%': division by zero")]
    [TestCase("event_inject(0, 0x20);", "event_inject: the target cannot inject the event")]
    [TestCase("event_inject(8, 0x20);", "event_inject: type 8 (0-7), vector 20 (0-ff) or error code is out of range")]
    [TestCase("event_inject_error_code(3, 0x100, 0);", "event_inject_error_code: type 3 (0-7), vector 100 (0-ff)")]
    public void Run_RuntimeError_EndsRunNamingTheFunction(string source, string expected)
    {
        // Arrange
        TestScriptTarget target = Target();

        // Act
        string error = RunError(source + " test_statement(1);", target);

        // Assert
        Assert.That(error, Does.StartWith(expected));
        Assert.That(target.TestValues, Is.Empty, "nothing after the error runs");
    }

    [Test]
    public void Run_RuntimeErrorInFunction_NamesTheFunction()
    {
        Assert.That(RunError("int f(int q) { return 1 / q; } x = f(0);"), Is.EqualTo("'/': division by zero (in function 'f')"));
    }

    [Test]
    public void Run_EndlessLoop_StopsAtOneMillionOperations()
    {
        // Act
        TestScriptTarget target = Target();
        ScriptRunResult result = Run("while (1) { }", target);

        // Assert
        Assert.That(result.Success, Is.False);
        Assert.That(result.Error, Does.StartWith("execution limit: more than 1,000,000 operations"));
        Assert.That(result.Operations, Is.EqualTo(ScriptLimits.DefaultMaxOperations + 1));
    }

    [Test]
    public void Run_LongButFiniteLoop_Succeeds()
    {
        // About 10 operations per iteration: 0n90000 iterations stay under the limit.
        Assert.That(Last("i = 0; while (i < 0n90000) { i = i + 1; } test_statement(i);"), Is.EqualTo(90000UL));
    }

    [Test]
    public void Run_InfiniteRecursion_IsStackOverflow()
    {
        string error = RunError("int f(int n) { return f(n + 1); } x = f(0);");
        Assert.That(error, Does.StartWith("stack overflow").And.Contain("'f'"));
    }

    [Test]
    public void Run_RecursionWithManyLocals_OverflowsTheSlotStack()
    {
        string error = RunError("int f(int n) { p1 = 1; q1 = 2; r1 = 3; s1 = 4; t1 = 5; g = p1 + q1 + r1 + s1 + t1; return f(n + g); } x = f(0);");
        Assert.That(error, Does.StartWith("stack overflow"));
    }

    [Test]
    public void Run_AfterRuntimeError_NextRunStartsClean()
    {
        // Arrange
        CompiledScript script = ScriptCompiler.Compile("x = x + 1; test_statement(x); if (.fail) { y = 1 / 0; }");
        var globals = new ScriptGlobals();
        TestScriptTarget target = Target();
        globals.TrySet("fail", 1, out _);

        // Act
        ScriptRunResult first = script.Run(target, globals);
        globals.TrySet("fail", 0, out _);
        ScriptRunResult second = script.Run(target, globals);

        // Assert
        Assert.That(first.Success, Is.False);
        Assert.That(second.Success, Is.True);
        Assert.That(target.TestValues, Is.EqualTo(new ulong[] { 1, 1 }));
    }
}
