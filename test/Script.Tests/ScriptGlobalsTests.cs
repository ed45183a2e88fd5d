// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using static HyperDbgRemote.Script.Tests.ScriptHarness;

namespace HyperDbgRemote.Script.Tests;

public sealed class ScriptGlobalsTests
{
    private const int Threads = 4;
    private const int RunsPerThread = 2000;

    [Test]
    public void Run_ConcurrentRunsOnSharedGlobals_LoseNoIncrements()
    {
        // Arrange: one compiled script, one globals table, one target per thread; locals must not leak between runs.
        CompiledScript script = ScriptCompiler.Compile(
            "local = local + 1; interlocked_increment(&.counter); spinlock_lock(&.lock); .plain = .plain + 1; spinlock_unlock(&.lock); test_statement(local);");
        var globals = new ScriptGlobals();
        var targets = Enumerable.Range(0, Threads).Select(static _ => Target()).ToArray();
        using var start = new Barrier(Threads);

        // Act
        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, t =>
        {
            start.SignalAndWait();
            for (int i = 0; i < RunsPerThread; i++)
            {
                ScriptRunResult result = script.Run(targets[t], globals);
                Assert.That(result.Success, Is.True, result.Error);
            }
        });

        // Assert
        Assert.That(globals["counter"], Is.EqualTo((ulong)(Threads * RunsPerThread)));
        Assert.That(globals["plain"], Is.EqualTo((ulong)(Threads * RunsPerThread)), "the spinlock serialises the read-modify-write");
        Assert.That(targets.SelectMany(static t => t.TestValues).Distinct(), Is.EqualTo(new ulong[] { 1 }), "locals are per run");
    }

    [Test]
    public void Globals_SharedBetweenScripts_ByName()
    {
        // Arrange
        var globals = new ScriptGlobals();
        TestScriptTarget target = Target();
        CompiledScript writer = ScriptCompiler.Compile(".shared = 0x55; .other = 1;");
        CompiledScript reader = ScriptCompiler.Compile("test_statement(.shared);");

        // Act
        writer.Run(target, globals);
        reader.Run(target, globals);

        // Assert
        Assert.That(target.TestValues, Is.EqualTo(new ulong[] { 0x55 }));
        Assert.That(globals.Count, Is.EqualTo(2));
    }

    [Test]
    public void Globals_Clear_ZeroesAndRebinds()
    {
        var globals = new ScriptGlobals();
        TestScriptTarget target = Target();
        CompiledScript script = ScriptCompiler.Compile(".n = .n + 1; test_statement(.n);");
        script.Run(target, globals);
        globals.Clear();
        script.Run(target, globals);
        Assert.That(target.TestValues, Is.EqualTo(new ulong[] { 1, 1 }));
    }

    [Test]
    public void Globals_TableFull_FailsTheRunNamingTheGlobal()
    {
        // Arrange
        var globals = new ScriptGlobals();
        for (int i = 0; i < ScriptLimits.GlobalSlots; i++)
        {
            Assert.That(globals.TrySet($"g{i}", (ulong)i, out string? setError), Is.True, setError);
        }

        // Act
        ScriptRunResult result = ScriptCompiler.Compile(".extra = 1;").Run(Target(), globals);
        bool added = globals.TrySet("more", 1, out string? error);

        // Assert
        Assert.That(result.Success, Is.False);
        Assert.That(result.Error, Does.Contain(".extra").And.Contain("512"));
        Assert.That(added, Is.False);
        Assert.That(error, Does.Contain(".more"));
    }
}
