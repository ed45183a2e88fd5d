// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using static HyperDbgRemote.Script.Tests.ScriptHarness;

namespace HyperDbgRemote.Script.Tests;

/// <summary>
/// Declarations and scopes as HyperDbg 0.23 has them (docs/script-language.md, "Declarations and scopes"), one test per
/// rule. Each value where HyperDbg accepts the script is what its evaluator gives; where we differ on purpose the test
/// says so.
/// </summary>
public sealed partial class CompiledScriptTests
{
    // Rule 1: one variable per name in a function; blocks are not scopes.
    [TestCase("if (1) { int y = 5; } test_statement(y);", 5UL)]
    [TestCase("int x = 1; if (1) { int x = 2; } test_statement(x);", 2UL)]
    [TestCase("int x = 1; while (x < 3) { int x = 9; x++; break; } test_statement(x);", 0xAUL)]
    public void Run_Declaration_Rule1_BlocksAreNotScopes(string source, ulong expected)
    {
        Assert.That(Last(source), Is.EqualTo(expected));
    }

    // Rule 2: declaring a name already used retypes that variable (its value is computed first, with the old type).
    [TestCase("x = 1; int x = 2; test_statement(x);", 2UL)]
    [TestCase("int x = 1; char x = 0x1ff; test_statement(x);", ulong.MaxValue)]
    [TestCase("int x = 1; x = 7; int x = 2; test_statement(x);", 2UL)]
    [TestCase("x = 0xffffffff; int x = x + 1; test_statement(x);", 0UL, Description = "x + 1 is computed unsigned 64-bit, then converted")]
    [TestCase("x = -1; if (x < 0) { test_statement(1); } int x = x; if (x < 0) { test_statement(2); }", 2UL, Description = "unsigned before, signed int after")]
    public void Run_Declaration_Rule2_RedeclarationRetypesTheVariable(string source, ulong expected)
    {
        Assert.That(Last(source), Is.EqualTo(expected));
    }

    // Rule 3: a for-loop initialiser declares in the function: the variable outlives the loop.
    [TestCase("i = 5; for (int i = 0; i < 3; i++) { } test_statement(i);", 3UL)]
    [TestCase("for (int i = 0; i < 3; i++) { } for (int i = 0; i < 2; i++) { } test_statement(i);", 2UL)]
    [TestCase("int i = 0; for (int i = 5; i < 7; i++) { } test_statement(i);", 7UL)]
    public void Run_Declaration_Rule3_ForInitialiserDeclaresInTheFunction(string source, ulong expected)
    {
        Assert.That(Last(source), Is.EqualTo(expected));
    }

    // Rule 4: a function's parameters and locals are its own; globals are shared; each call of a recursion has its own.
    [TestCase("x = 3; void bump() { x = 7; } bump(); test_statement(x);", 3UL)]
    [TestCase("void setg() { .gv = 7; } setg(); test_statement(.gv);", 7UL)]
    [TestCase("int g(int n) { int k = n + 1; return k; } k = 5; test_statement(g(1) + k);", 7UL)]
    [TestCase("int fact(int n) { if (n < 2) { return 1; } return n * fact(n - 1); } test_statement(fact(0n10));", 0x375F00UL)]
    [TestCase("int depth(int n) { if (n == 0) { return 0; } return 1 + depth(n - 1); } test_statement(depth(0n20));", 0x14UL)]
    public void Run_Declaration_Rule4_FunctionsHaveTheirOwnVariables(string source, ulong expected)
    {
        Assert.That(Last(source), Is.EqualTo(expected));
    }

    // Rule 4, where we differ on purpose: parameters and results are converted to their declared types (HyperDbg 0.23
    // passes them unconverted: 0x1ff, 0xffffffff1, 0xfffffffe, 0x1ff).
    [TestCase("char get() { return 0x1ff; } test_statement(get());", ulong.MaxValue)]
    [TestCase("int get() { return 0xffffffff1; } test_statement(get());", 0xFFFF_FFFF_FFFF_FFF1UL)]
    [TestCase("int twice(int n) { return n * 2; } test_statement(twice(0x7fffffff));", 0xFFFF_FFFF_FFFF_FFFEUL)]
    [TestCase("void g(char n) { .z = n; } g(0x1ff); test_statement(.z);", ulong.MaxValue)]
    public void Run_Declaration_Rule4_TypedParametersAndResultsConvert(string source, ulong expected)
    {
        Assert.That(Last(source), Is.EqualTo(expected));
    }

    // Rule 5: a global declared with a type keeps it for the rest of the script, functions included.
    [TestCase("int .g = 0x1ffffffff; test_statement(.g);", ulong.MaxValue)]
    [TestCase("unsigned char .c = 0x1ff; test_statement(.c);", 0xFFUL)]
    [TestCase("char .c = 0x1ff; .c = 0x2ff; test_statement(.c);", ulong.MaxValue)]
    [TestCase("int .g = 5; .g = .g - 6; test_statement(.g);", ulong.MaxValue)]
    [TestCase(".g = 7; int .g = 6; test_statement(.g);", 6UL)]
    [TestCase("int .g = 5; void usegl() { .g = .g + 0x1ffffffff; } usegl(); test_statement(.g);", 4UL)]
    [TestCase("int .g = -1; if (.g < 0) { test_statement(1); } else { test_statement(0); }", 1UL, Description = "signed, unlike an undeclared global")]
    public void Run_Declaration_Rule5_TypedGlobals(string source, ulong expected)
    {
        Assert.That(Last(source), Is.EqualTo(expected));
    }

    [Test]
    public void Run_Declaration_Rule5_TypedGlobalReadByAnotherScript_IsItsStoredValue()
    {
        // Arrange: one script declares .t as char and stores; another reads the shared slot untyped.
        var globals = new ScriptGlobals();
        ScriptCompiler.Compile("char .t = 0x1ff;").Run(Target(), globals);
        TestScriptTarget target = Target();

        // Act
        ScriptCompiler.Compile("test_statement(.t);").Run(target, globals);

        // Assert
        Assert.That(target.TestValues[^1], Is.EqualTo(ulong.MaxValue));
    }

    // Rule 6: the types HyperDbg's grammar has (void bool char short int long unsigned signed float double): no wchar.
    [TestCase("wchar w = 1;")]
    [TestCase("int .a[2] = {1, 2};")]
    public void Compile_Declaration_Rule6_TypesOutsideHyperDbgsGrammar_AreErrors(string source)
    {
        Assert.That(CompileError(source).Cause, Does.StartWith("syntax error"));
    }
}
