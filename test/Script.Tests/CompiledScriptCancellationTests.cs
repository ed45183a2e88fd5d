// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;
using static HyperDbgRemote.Script.Tests.ScriptHarness;

namespace HyperDbgRemote.Script.Tests;

/// <summary>
/// Work is cancelled with its request: a compile or a run given a cancelled token stops. Every test synchronises on
/// what the script does (a <c>test_statement</c> value, a symbol lookup), never on time.
/// </summary>
public sealed class CompiledScriptCancellationTests
{
    private static readonly ScriptLimits s_unlimited = new() { MaxOperations = 0 };

    [Test]
    public void Compile_AlreadyCancelled_Throws()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        Assert.Throws<OperationCanceledException>(() => ScriptCompiler.Compile("x = 1;", null, cts.Token));
        Assert.Throws<OperationCanceledException>(() => ScriptCompiler.TryCompile("x = 1;", out _, out _, null, cts.Token));
    }

    [Test]
    public void Compile_CancelledWhileLexing_StopsBeforeTheEnd()
    {
        // Arrange: the compiler resolves nt!first at the start of a long script; resolving it cancels the request.
        using var cts = new CancellationTokenSource();
        TestScriptTarget target = Target();
        target.AddSymbol("nt!first", 0x1000);
        target.OnResolve = _ => cts.Cancel();
        var source = new StringBuilder("x = nt!first;");
        for (int i = 0; i < 5_000; i++)
        {
            source.Append(" y = x + 1;");
        }

        // Act, Assert
        Assert.Throws<OperationCanceledException>(() => ScriptCompiler.Compile(source.ToString(), new ScriptCompileOptions { SymbolResolver = target }, cts.Token));
    }

    [Test]
    public void Run_CancelledByWhatTheScriptDoes_EndsTheRunWithAnInterruptedError()
    {
        // Arrange: an endless loop with no operation limit; the third value it records cancels the run.
        using var cts = new CancellationTokenSource();
        TestScriptTarget target = Target();
        target.OnTestValue = v =>
        {
            if (v == 3)
            {
                cts.Cancel();
            }
        };
        CompiledScript script = ScriptCompiler.Compile("i = 0; while (1) { i = i + 1; test_statement(i); }");

        // Act
        ScriptRunResult result = script.Run(target, new ScriptGlobals(), default, s_unlimited, cts.Token);

        // Assert
        Assert.That(result.Success, Is.False);
        Assert.That(result.Error, Does.StartWith("interrupted after").And.Contain("the run was cancelled"));
        Assert.That(target.TestValues, Has.Count.GreaterThanOrEqualTo(3));
        Assert.That(result.Operations, Is.LessThan(100_000), "the run ends at the next checkpoint, a few thousand operations on");
    }

    [Test]
    public async Task Run_CancelledFromAnotherThread_EndsTheRun()
    {
        // Arrange: the run signals once it is looping; the test thread then cancels it.
        using var cts = new CancellationTokenSource();
        using var looping = new ManualResetEventSlim();
        TestScriptTarget target = Target();
        target.OnTestValue = _ => looping.Set();
        CompiledScript script = ScriptCompiler.Compile("while (1) { test_statement(1); }");
        Task<ScriptRunResult> run = Task.Run(() => script.Run(target, new ScriptGlobals(), default, s_unlimited, cts.Token));

        // Act
        looping.Wait();
        await cts.CancelAsync();
        ScriptRunResult result = await run.WaitAsync(TimeSpan.FromMinutes(2));

        // Assert
        Assert.That(result.Error, Does.StartWith("interrupted after"));
    }

    [Test]
    [CancelAfter(120_000)]
    public void Run_CancelledDuringMicrosleep_WakesAtOnce()
    {
        // Arrange: a thousand one-second sleeps would take a quarter of an hour; cancelled, each returns at once.
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        CompiledScript script = ScriptCompiler.Compile("while (1) { microsleep(0n1000000); }");

        // Act
        ScriptRunResult result = script.Run(Target(), new ScriptGlobals(), default, s_unlimited, cts.Token);

        // Assert
        Assert.That(result.Error, Does.StartWith("interrupted after"));
    }

    [Test]
    public void Run_SpinlockNeverReleased_CancelledRunStops()
    {
        // Arrange: with no operation limit, only cancellation ends a wait for a lock nobody releases.
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        CompiledScript script = ScriptCompiler.Compile(".lock = 1; spinlock_lock(&.lock);");

        // Act
        ScriptRunResult result = script.Run(Target(), new ScriptGlobals(), default, s_unlimited, cts.Token);

        // Assert
        Assert.That(result.Error, Does.Contain("still taken when the run was interrupted"));
    }

    [Test]
    public void Run_OperationLimitFromLimits_NamesItsSetting()
    {
        // Arrange
        var limits = new ScriptLimits { MaxOperations = 500, MaxOperationsSetting = "the agent's --max-execution-count" };
        CompiledScript script = ScriptCompiler.Compile("while (1) { }");

        // Act
        ScriptRunResult result = script.Run(Target(), new ScriptGlobals(), default, limits);

        // Assert
        Assert.That(result.Error, Is.EqualTo("execution limit: more than 500 operations in one run (endless loop?; the limit is the agent's --max-execution-count)"));
        Assert.That(result.Operations, Is.EqualTo(501));
    }

    [Test]
    public void ScriptLimits_NegativeOperationLimit_IsRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ScriptLimits { MaxOperations = -1 });
    }
}
