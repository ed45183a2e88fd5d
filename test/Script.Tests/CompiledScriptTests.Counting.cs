// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using static HyperDbgRemote.Script.Tests.ScriptHarness;

namespace HyperDbgRemote.Script.Tests;

/// <summary>
/// A run counts its operations as HyperDbg's evaluator counts executed instructions (docs/script-language.md,
/// "Runtime limits"): each expected count is the number of instructions HyperDbg 0.23 executes for the script (the
/// frame ADD, operators, CAST_SCALAR and MOV of assignments, JZ/JMP of control flow, CALL/PUSH/RET of functions), as its
/// compiler (script-engine.c, CodeGen) lays the script out; each was checked against HyperDbg's own evaluator.
/// </summary>
public sealed partial class CompiledScriptTests
{
    private static readonly ScriptLimits s_noLimit = new() { MaxOperations = 0 };

    [TestCase("x = 1;", 3, Description = "ADD (frame), CAST_SCALAR (long literal to the implicit unsigned variable), MOV")]
    [TestCase("x = 1; y = x;", 4, Description = "same type: MOV only")]
    [TestCase("x = 1; x++;", 4, Description = "INC")]
    [TestCase("x = 1; x += 2;", 6, Description = "ADD_TYPED, CAST_SCALAR, MOV")]
    [TestCase(".g = 1;", 3)]
    [TestCase("@rax = 1;", 2, Description = "a register is a long like the literal: no cast")]
    [TestCase(".h = @rax; @rax = .h;", 5)]
    [TestCase("x = @rax + @rbx * 2;", 5)]
    [TestCase("temp_var = 5; temp_var = dc;", 4, Description = "a hex word has no type: no cast")]
    [TestCase("x = 1; if (x == 1) { y = 2; } else { y = 3; }", 8)]
    [TestCase("x = 1; if (x == 1) { y = 2; } elsif (x == 2) { y = 3; } else { y = 4; }", 8)]
    [TestCase("x = 0; while (x < 3) { x++; }", 17)]
    [TestCase("x = 0; do { x++; } while (x < 3);", 12)]
    [TestCase("for (i = 0; i < 3; i++) { x = 1; }", 29, Description = "cond, JZ, JMP, body, JMP, step, JMP per iteration")]
    [TestCase("for (i = 0; i < 3; i++) { if (i == 1) { break; } }", 17)]
    [TestCase("for (i = 0; i < 3; i++) { if (i == 1) { continue; } x = 2; }", 33)]
    [TestCase("i = 0; while (1) { i++; if (i == 3) { break; } }", 18)]
    [TestCase("y = 0; if (@rax == 1 && @rbx == 4) { y = 1; } test_statement(y);", 18)]
    [TestCase("y = 0; if (@rax == 1 && @rbx == 5) { y = 1; } test_statement(y);", 14)]
    [TestCase("y = 0; if (@rax == 2 && @rbx == 4) { y = 1; } test_statement(y);", 10)]
    [TestCase("y = 0; if (@rax == 2 || @rbx == 4) { y = 1; } test_statement(y);", 17)]
    [TestCase("y = 0; if (@rax == 2 || @rbx == 5) { y = 1; } test_statement(y);", 15)]
    [TestCase("x = 5; x--; x -= 1; x *= 2; x /= 2; x %= 3; x <<= 1; x >>= 1; x &= 1; x |= 1; x ^= 1;", 31)]
    [TestCase("x = (long)@rax;", 4)]
    [TestCase("x = @rax; y = &x;", 6)]
    [TestCase("x = 1; int *p = &x; y = *p;", 7)]
    [TestCase("printf(\"%d %d\\n\", 1, @rax);", 2)]
    [TestCase("x = poi(@rsp + 8);", 4)]
    [TestCase("test_statement(strlen(\"ab\"));", 3)]
    [TestCase("int inc(int n) { return n + 1; } y = inc(2); test_statement(y);", 18)]
    [TestCase("void g(int n) { .z = n; } g(5); test_statement(.z);", 13)]
    [TestCase("int one() { return 1; } one();", 12, Description = "a result nobody uses is not moved")]
    [TestCase("int fact(int n) { if (n == 0) { return 1; } return n * fact(n - 1); } test_statement(fact(3));", 65)]
    [TestCase("int fib(int n) { if (n < 2) { return n; } return fib(n - 1) + fib(n - 2); } test_statement(fib(0n15));", 30_583)]
    [TestCase("total = 0; for (i = 0; i < 0n10; i++) { if (i % 2 == 0) { continue; } total += i; } test_statement(total);", 113)]
    [TestCase("sum = 0; for (i = 0; i < 0n200; i++) { for (j = 0; j < 0n300; j++) { sum = sum + j; } } test_statement(sum);", 482_008)]
    public void Run_Script_CountsWhatHyperDbgExecutes(string source, long hyperDbgCount)
    {
        // Arrange: the registers of HyperDbg's expression suite (rax=1, rbx=4, rdx=3, ...), RAM at @rsp.
        CompiledScript script = ScriptCompiler.Compile(source);
        TestScriptTarget target = Target();
        target[ScriptRegister.Rax] = 1;
        target[ScriptRegister.Rbx] = 4;
        target[ScriptRegister.Rdx] = 3;

        // Act
        ScriptRunResult result = script.Run(target, new ScriptGlobals(), default, s_noLimit);

        // Assert
        Assert.That(result.Success, Is.True, result.Error);
        Assert.That(result.Operations, Is.EqualTo(hyperDbgCount));
    }

    [Test]
    public void Run_LoopThatHyperDbgFinishesAtItsLimit_Finishes_OneMoreIteration_Fails()
    {
        // 4 instructions an iteration plus 6: 249,998 iterations are 999,998 instructions, 249,999 are 1,000,002.
        ScriptRunResult within = Run("i = 0; while (i < 0n249998) { i++; } test_statement(i);", Target());
        ScriptRunResult beyond = Run("i = 0; while (i < 0n249999) { i++; } test_statement(i);", Target());

        Assert.That(within.Success, Is.True, within.Error);
        Assert.That(within.Operations, Is.EqualTo(999_998));
        Assert.That(beyond.Error, Does.StartWith("execution limit: more than 1,000,000 operations in one run"));
    }

    [Test]
    public void Run_StringFunctionOnALongString_CountsOneOperation_AsHyperDbg()
    {
        // Arrange: a 4,000-byte string in guest memory.
        TestScriptTarget target = Target();
        target.Poke(Ram, [.. Enumerable.Repeat((byte)'a', 4_000), 0]);

        // Act
        ScriptRunResult result = Run($"test_statement(strlen({Ram:x}));", target);

        // Assert
        Assert.That(target.TestValues[^1], Is.EqualTo(4_000UL));
        Assert.That(result.Operations, Is.EqualTo(3));
    }
}
