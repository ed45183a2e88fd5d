// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using static HyperDbgRemote.Script.Tests.ScriptHarness;

namespace HyperDbgRemote.Script.Tests;

public sealed partial class CompiledScriptTests
{
    [TestCase(1, 0xAUL)]
    [TestCase(2, 0xBUL)]
    [TestCase(3, 0xCUL)]
    public void Run_IfElsifElse_TakesOneBranch(int value, ulong expected)
    {
        string source = $"v = {value}; if (v == 1) {{ test_statement(0xa); }} elsif (v == 2) {{ test_statement(0xb); }} else {{ test_statement(0xc); }}";
        Assert.That(Last(source), Is.EqualTo(expected));
    }

    [Test]
    public void Run_Loops_CountWithBreakAndContinue()
    {
        string source = """
            i = 0; sum = 0;
            while (i < 0n10) { i++; if (i == 3) { continue; } if (i == 8) { break; } sum += i; }
            test_statement(sum);
            n = 0;
            do { n = n + 1; } while (n < 5);
            test_statement(n);
            total = 0;
            for (int k = 0; k < 4; k++) { if (k == 1) { continue; } total += k; }
            test_statement(total);
            for (; total > 0; total--) { }
            test_statement(total);
            for (j = 0x10; j != 0; j -= 4) { }
            test_statement(j);
            """;
        TestScriptTarget target = Target();
        Last(source, target);
        Assert.That(target.TestValues, Is.EqualTo(new ulong[] { 1 + 2 + 4 + 5 + 6 + 7, 5, 5, 0, 0 }));
    }

    [Test]
    public void Run_Assignments_ChainedCompoundAndIncrement()
    {
        string source = """
            va = vb = vc = 4;
            va += 1; vb -= 1; vc *= 3; vd = 0x10; vd /= 3; ve = 0x10; ve %= 3; vf = 1; vf <<= 4; g = 0x100; g >>= 4;
            h = 0xF0; h &= 0x3C; k = 1; k |= 6; m = 0xFF; m ^= 0xF; ++va; --vb; .glob = 1; .glob++; .glob += 2;
            test_statement(va); test_statement(vb); test_statement(vc); test_statement(vd); test_statement(ve); test_statement(vf);
            test_statement(g); test_statement(h); test_statement(k); test_statement(m); test_statement(.glob);
            """;
        TestScriptTarget target = Target();
        Last(source, target);
        Assert.That(target.TestValues, Is.EqualTo(new ulong[] { 6, 2, 0xC, 5, 1, 0x10, 0x10, 0x30, 7, 0xF0, 4 }));
    }

    [Test]
    public void Run_TypedLocals_ConvertLikeC()
    {
        string source = """
            char cv = 0x1FF; unsigned char ucv = 0x1FF; short sv = 0x18000; int iv = 0x1FFFFFFFF; unsigned int uv = -1;
            long lv = -1; bool bv = 5; double dv = 7;
            test_statement(cv); test_statement(ucv); test_statement(sv); test_statement(iv); test_statement(uv);
            test_statement(lv); test_statement(bv); test_statement(dv / 2);
            """;
        TestScriptTarget target = Target();
        Last(source, target);
        Assert.That(target.TestValues, Is.EqualTo(new ulong[]
        {
            ulong.MaxValue, 0xFF, 0xFFFF_FFFF_FFFF_8000, ulong.MaxValue, 0xFFFF_FFFF, ulong.MaxValue, 1, 3,
        }));
    }

    [Test]
    public void Run_UserFunctions_ParametersReturnAndRecursion()
    {
        string source = """
            int fib(int n) { if (n < 2) { return n; } return fib(n - 1) + fib(n - 2); }
            void show(int v) { printf("%d\n", v); return; }
            int twice(int v) { return v * 2; }
            double half(double v) { return v / 2; }
            show(fib(0n20));
            test_statement(twice(twice(3)));
            test_statement(half(5) * 4);
            test_statement(later(1));
            int later(int x) { return x + 0x41; }
            """;
        TestScriptTarget target = Target();
        Last(source, target);
        Assert.That(target.Output, Is.EqualTo("6765\n"));
        Assert.That(target.TestValues, Is.EqualTo(new ulong[] { 0xC, 0xA, 0x42 }));
    }

    [Test]
    public void Run_FunctionLocals_AreSeparateFromScriptLocals()
    {
        string source = "int f(int q) { x = q + 1; return x; } x = 0x10; y = f(1); test_statement(x + y);";
        Assert.That(Last(source), Is.EqualTo(0x12UL));
    }

    [Test]
    public void Run_TopLevelReturn_EndsScript()
    {
        TestScriptTarget target = Target();
        Last("test_statement(1); if (1) { return; } test_statement(2);", target);
        Assert.That(target.TestValues, Is.EqualTo(new ulong[] { 1 }));
    }

    [Test]
    public void Run_LocalsAreZeroedEveryRun_GlobalsPersist()
    {
        // Arrange
        CompiledScript script = ScriptCompiler.Compile("counter = counter + 1; .runs = .runs + 1; test_statement(counter); test_statement(.runs);");
        var globals = new ScriptGlobals();
        TestScriptTarget target = Target();

        // Act
        script.Run(target, globals);
        script.Run(target, globals);

        // Assert
        Assert.That(target.TestValues, Is.EqualTo(new ulong[] { 1, 1, 1, 2 }));
        Assert.That(globals["runs"], Is.EqualTo(2UL));
    }

    [Test]
    public void Run_HexWords_AreNumbersUnlessCalled()
    {
        Assert.That(Eval("da + f"), Is.EqualTo(0xE9UL));
        Assert.That(Eval("db(&dcx)"), Is.Zero, "'dcx' has an x: a variable; 'db(' is the function");
        Assert.That(Last("int add(int x, int y) { return x + y; } test_statement(add(1, 2));"), Is.EqualTo(3UL));
    }
}
