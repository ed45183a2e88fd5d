// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;
using static HyperDbgRemote.Script.Tests.ScriptHarness;

namespace HyperDbgRemote.Script.Tests;

/// <summary>
/// Hostile shapes within the 64 KiB source limit: long operator chains compile in linear time and bounded stack; deep
/// nesting of any kind is a compile error naming <see cref="ScriptLimits.MaxNesting"/>, never a crash of the process.
/// </summary>
public sealed class ScriptCompilerBoundsTests
{
    private const string NestingError = "nesting deeper than 200 levels";

    private static string Chain(int terms, string op, string term = "1") => string.Join(op, Enumerable.Repeat(term, terms));

    private static string Repeat(string text, int count) => new StringBuilder(text.Length * count).Insert(0, text, count).ToString();

    [TestCase(16_000)]
    [TestCase(30_000)]
    public void Compile_LongSumChain_CompilesAndRunsToTheSum(int terms)
    {
        // Arrange: ".x = 1+1+...+1;" (16,000 terms is 32 KB; 30,000 is 60 KB, both inside the 64 KiB limit).
        string source = $"test_statement({Chain(terms, "+")});";
        Assert.That(source, Has.Length.LessThanOrEqualTo(ScriptLimits.MaxSourceLength));

        // Act
        ulong sum = Last(source);

        // Assert
        Assert.That(sum, Is.EqualTo((ulong)terms));
    }

    [TestCase("-", "1", 0xFFFF_FFFF_FFFF_C569UL)]
    [TestCase("*", "1", 1UL)]
    [TestCase("|", "1", 1UL)]
    [TestCase("&", "1", 1UL)]
    [TestCase("^", "1", 1UL)]
    [TestCase("<<", "0", 1UL)]
    [TestCase("/", "1", 1UL)]
    public void Compile_LongChainOfEachOperator_Compiles(string op, string term, ulong expected)
    {
        Assert.That(Last($"x = 1{op}{Chain(15_000, op, term)}; test_statement(x);"), Is.EqualTo(expected));
    }

    [TestCase("&&")]
    [TestCase("||")]
    public void Compile_LongLogicalChain_CompilesAndRuns(string op)
    {
        Assert.That(Last($"if ({Chain(12_000, op)}) {{ test_statement(1); }}"), Is.EqualTo(1UL));
    }

    [Test]
    public void Compile_ChainOfProductsAndComparisons_Compiles()
    {
        // Chains inside chains: each '*' chain is a right operand of the '+' chain.
        Assert.That(Last($"test_statement({Chain(3_000, "+", "2*2*2")});"), Is.EqualTo(24_000UL));
        Assert.That(Last($"if ({Chain(3_000, " && ", "1 == 1")}) {{ test_statement(2); }}"), Is.EqualTo(2UL));
    }

    /// <summary>Compile time is linear: the code generator's work (nodes typed and emitted) for twice the terms is
    /// about twice the work. Counting work, not time, keeps this independent of the machine's load.</summary>
    [TestCase("+", "1")]
    [TestCase("*", "2*2")]
    [TestCase(" && ", "(1 < 2)")]
    [TestCase("+", "@rax * (@rbx - 1)")]
    [TestCase("+", "p[1]")]
    public void Compile_ChainTwiceAsLong_TakesTwiceTheWork(string op, string term)
    {
        long Work(int terms) => ScriptCompiler.Compile($"int arr[4]; int *p = arr; if ({Chain(terms, op, term)}) {{ x = 1; }}").CompileWork;

        long small = Work(800);
        long large = Work(1_600);
        long larger = Work(3_200);

        Assert.That(large, Is.LessThanOrEqualTo(small * 21 / 10), $"800 terms: {small}, 1,600 terms: {large}");
        Assert.That(larger, Is.LessThanOrEqualTo(large * 21 / 10), $"1,600 terms: {large}, 3,200 terms: {larger}");
    }

    [Test]
    public void Compile_ParenthesesWithinTheLimit_Compile()
    {
        Assert.That(Last($"test_statement({Repeat("(", 150)}7{Repeat(")", 150)});"), Is.EqualTo(7UL));
        Assert.That(Last($"test_statement({Repeat("1+(", 90)}1{Repeat(")", 90)});"), Is.EqualTo(91UL));
    }

    [TestCase(201)]
    [TestCase(10_000)]
    [TestCase(32_000)]
    public void Compile_ParenthesesBeyondTheLimit_IsANestingError(int depth)
    {
        Assert.That(CompileError($"x = {Repeat("(", depth)}1{Repeat(")", depth)};").Cause, Does.Contain(NestingError));
    }

    [TestCase(300)]
    [TestCase(15_000)]
    public void Compile_RightNestedChainBeyondTheLimit_IsANestingError(int depth)
    {
        Assert.That(CompileError($"x = {Repeat("1+(", depth)}1{Repeat(")", depth)};").Cause, Does.Contain(NestingError));
    }

    [TestCase("- ")]
    [TestCase("~")]
    [TestCase("!")]
    [TestCase("(int)")]
    [TestCase("*")]
    public void Compile_UnaryChainBeyondTheLimit_IsANestingError(string op)
    {
        Assert.That(CompileError($"if ({Repeat(op, 5_000)}1) {{ x = 1; }}").Cause, Does.Contain(NestingError));
    }

    [Test]
    public void Compile_UnaryChainWithinTheLimit_Compiles()
    {
        Assert.That(Last($"test_statement({Repeat("- ", 150)}5);"), Is.EqualTo(5UL));
    }

    [TestCase("if (1) { ", " }")]
    [TestCase("while (1) { ", " break; }")]
    [TestCase("for (i = 0; i < 1; i++) { ", " }")]
    [TestCase("do { ", " } while (0);")]
    [TestCase("if (0) { } else { ", " }")]
    public void Compile_BlocksWithinTheLimit_Compile_BeyondIt_AreANestingError(string open, string close)
    {
        // Arrange
        string Nested(int depth) => $"{Repeat(open, depth)}test_statement(9);{Repeat(close, depth)}";

        // Act, Assert
        Assert.That(Last(Nested(150)), Is.EqualTo(9UL));
        Assert.That(CompileError(Nested(201)).Cause, Does.Contain(NestingError));
        Assert.That(CompileError(Nested(1_000)).Cause, Does.Contain(NestingError));
    }

    [Test]
    public void Compile_LongElsifChain_IsFlat_AndCompiles()
    {
        string source = "x = 0n999; if (x == 0) { test_statement(0); }"
            + string.Concat(Enumerable.Range(1, 999).Select(static i => $" elsif (x == 0n{i}) {{ test_statement(0n{i}); }}"));
        Assert.That(source, Has.Length.LessThanOrEqualTo(ScriptLimits.MaxSourceLength));

        Assert.That(Last(source), Is.EqualTo(999UL));
    }

    [Test]
    public void Compile_BlocksAndExpressionTogetherBeyondTheLimit_IsANestingError()
    {
        // 120 blocks around an expression 100 levels deep: each is fine alone, together they exceed 200.
        string expression = $"{Repeat("(1+", 100)}1{Repeat(")", 100)}";
        Assert.That(CompileError($"{Repeat("if (1) { ", 120)}x = {expression};{Repeat(" }", 120)}").Cause, Does.Contain(NestingError));
    }

    [Test]
    public void Compile_NestedCallsBeyondTheLimit_IsANestingError()
    {
        string source = $"int f(int v) {{ return v; }} x = {Repeat("f(", 5_000)}1{Repeat(")", 5_000)};";
        Assert.That(CompileError(source).Cause, Does.Contain(NestingError));
    }

    [Test]
    public void Compile_MemberChainBeyondTheLimit_IsANestingError_WithinIt_Compiles()
    {
        const string Prefix = "struct node { struct node *next; int v; }; struct node n; n.next = &n; n.v = 6; struct node *p = &n; ";
        Assert.That(Last($"{Prefix}test_statement(p{Repeat("->next", 150)}->v);"), Is.EqualTo(6UL));
        Assert.That(CompileError($"{Prefix}x = p{Repeat("->next", 5_000)}->v;").Cause, Does.Contain(NestingError));
    }

    [Test]
    public void Compile_DeepNestingInsideAFunction_IsANestingError()
    {
        string source = $"void f() {{ {Repeat("if (1) { ", 500)}x = 1;{Repeat(" }", 500)} }} f();";
        Assert.That(CompileError(source).Cause, Does.Contain(NestingError));
    }

    [Test]
    public void Run_MutualRecursion_StopsAtTheCallDepthLimit()
    {
        string error = RunError("int even(int n) { return odd(n + 1); } int odd(int n) { return even(n + 1); } x = even(0);");
        Assert.That(error, Does.StartWith($"stack overflow: calls nested deeper than {ScriptLimits.MaxCallDepth}"));
    }

    [Test]
    public void Run_RecursionWithinTheCallDepthLimit_Returns()
    {
        Assert.That(Last("int depth(int n) { if (n == 0) { return 0; } return 1 + depth(n - 1); } test_statement(depth(0n150));"), Is.EqualTo(150UL));
    }
}
