// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using static HyperDbgRemote.Script.Tests.ScriptHarness;

namespace HyperDbgRemote.Script.Tests;

public sealed partial class CompiledScriptTests
{
    [TestCase("3 + 4", 7UL)]
    [TestCase("3 - 4", ulong.MaxValue)]
    [TestCase("6 * 7", 0x2AUL)]
    [TestCase("0n100 / 0n7", 14UL)]
    [TestCase("0n100 % 0n7", 2UL)]
    [TestCase("-1 / 2", 0UL, Description = "literals are signed long (HyperDbg 0.23): signed division")]
    [TestCase("-7 / 2", 0xFFFF_FFFF_FFFF_FFFDUL)]
    [TestCase("-7 % 3", ulong.MaxValue)]
    [TestCase("0xF0 & 0x3C", 0x30UL)]
    [TestCase("0xF0 | 0x0F", 0xFFUL)]
    [TestCase("0xFF ^ 0x0F", 0xF0UL)]
    [TestCase("1 << 0n63", 0x8000_0000_0000_0000UL)]
    [TestCase("-1 >> 0n60", ulong.MaxValue, Description = "a signed value shifts arithmetically")]
    [TestCase("-8 >> 1", 0xFFFF_FFFF_FFFF_FFFCUL)]
    [TestCase("-5", 0xFFFF_FFFF_FFFF_FFFBUL)]
    [TestCase("+5", 5UL)]
    [TestCase("~0", ulong.MaxValue)]
    [TestCase("- -5", 5UL)]
    [TestCase("~~5", 5UL)]
    public void Run_ArithmeticOperator_Computes64BitAsHyperDbg(string expression, ulong expected)
    {
        Assert.That(Eval(expression), Is.EqualTo(expected));
    }

    [TestCase("1 + 2 * 3", 7UL)]
    [TestCase("(1 + 2) * 3", 9UL)]
    [TestCase("1 << 2 + 1", 8UL)]
    [TestCase("1 | 2 ^ 3 & 4", 3UL)]
    [TestCase("0x10 - 4 - 2", 0xAUL)]
    [TestCase("0x40 / 4 / 2", 8UL)]
    [TestCase("2 * -3", 0xFFFF_FFFF_FFFF_FFFAUL)]
    [TestCase("6 & 3 | 8", 0xAUL)]
    [TestCase("1 + 1 << 2", 8UL)]
    public void Run_MixedOperators_FollowPrecedence(string expression, ulong expected)
    {
        Assert.That(Eval(expression), Is.EqualTo(expected));
    }

    [TestCase("if (-1 < 1) { test_statement(1); } else { test_statement(0); }", 1UL)]
    [TestCase("if (1 > -1) { test_statement(1); } else { test_statement(0); }", 1UL)]
    [TestCase("if (5 >= 5) { test_statement(1); } else { test_statement(0); }", 1UL)]
    [TestCase("if (5 <= 4) { test_statement(1); } else { test_statement(0); }", 0UL)]
    [TestCase("if (5 == 5) { test_statement(1); } else { test_statement(0); }", 1UL)]
    [TestCase("if (5 != 5) { test_statement(1); } else { test_statement(0); }", 0UL)]
    [TestCase("if (1 < 2 && 2 < 3) { test_statement(1); } else { test_statement(0); }", 1UL)]
    [TestCase("if (1 > 2 || 2 < 3) { test_statement(1); } else { test_statement(0); }", 1UL)]
    [TestCase("if (!(1 > 2)) { test_statement(1); } else { test_statement(0); }", 1UL)]
    [TestCase("if (!0) { test_statement(1); } else { test_statement(0); }", 1UL)]
    [TestCase("if (1 < 2 & 3 < 4) { test_statement(1); } else { test_statement(0); }", 1UL)]
    [TestCase("if (1 < 2 ^ 3 < 4) { test_statement(1); } else { test_statement(0); }", 0UL)]
    [TestCase("if ((1 < 2) == (3 < 4)) { test_statement(1); } else { test_statement(0); }", 1UL)]
    [TestCase("if (1 + 1 << 2 == 8) { test_statement(1); } else { test_statement(0); }", 1UL)]
    [TestCase("if (0x10) { test_statement(1); } else { test_statement(0); }", 1UL)]
    public void Run_Condition_EvaluatesSignedComparisonsAndLogic(string source, ulong expected)
    {
        Assert.That(Last(source), Is.EqualTo(expected));
    }

    [Test]
    public void Run_LogicalAnd_ShortCircuits()
    {
        // Arrange: the right side would fail (poi of an unmapped address) if it were evaluated.
        string source = $"if (0 && poi(0x{Unmapped:x}) == 1) {{ test_statement(1); }} if (1 || poi(0x{Unmapped:x})) {{ test_statement(2); }}";

        // Act / Assert
        Assert.That(Last(source), Is.EqualTo(2UL));
    }

    [TestCase("x = 1 == 1; test_statement(x);", 1UL)]
    [TestCase("x = 2 < 1; test_statement(x);", 0UL)]
    [TestCase("test_statement((int)(3 == 3) + 1);", 2UL)]
    public void Run_ConditionUsedAsValue_IsOneOrZero(string source, ulong expected)
    {
        Assert.That(Last(source), Is.EqualTo(expected));
    }

    [TestCase("if (1 & 2 == 2) { }")]
    [TestCase("if ((1 == 1) + 1) { }")]
    [TestCase("if (1 == 1 == 1) { }")]
    [TestCase("if (1 < 2 < 3) { }")]
    [TestCase("x = -(1 == 1);")]
    [TestCase("x = ~(1 == 1);")]
    [TestCase("if (1 | 2 > 1) { }")]
    public void Compile_ConditionMixedWithNumber_Throws(string source)
    {
        ScriptCompileException error = CompileError(source);
        Assert.That(error.Cause, Does.Contain("type error"));
    }

    [Test]
    public void Run_FloatArithmetic_UsesDoubles()
    {
        // Arrange
        string source = "double dv = 1.5; ev = dv * 2 + .25; printf(\"%f %.3f\\n\", ev, ev / 3); if (ev > 3.0) { test_statement(ev); }";

        // Act
        TestScriptTarget target = Target();
        string output = Output(source, target);

        // Assert
        Assert.That(output, Is.EqualTo("3.250000 1.083\n"));
        Assert.That(target.TestValues.Single(), Is.EqualTo(3UL), "a float passed as an integer is truncated");
    }

    [TestCase("x = 1.5 % 2;")]
    [TestCase("x = 1.5 << 2;")]
    [TestCase("x = ~1.5;")]
    [TestCase("printf(\"%d\", 1.5);")]
    [TestCase("printf(\"%f\", 1);")]
    public void Compile_FloatMisuse_Throws(string source)
    {
        Assert.That(() => ScriptCompiler.Compile(source), Throws.TypeOf<ScriptCompileException>());
    }
}
