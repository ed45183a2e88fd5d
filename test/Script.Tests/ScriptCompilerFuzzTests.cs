// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using System.Text;

namespace HyperDbgRemote.Script.Tests;

/// <summary>Seeded random input (STYLE 36): token soup and mutated conformance cases. Every input must either compile
/// or throw <see cref="ScriptCompileException"/>; compiled ones must run to success or a runtime error, quickly.</summary>
public sealed class ScriptCompilerFuzzTests
{
    private const int Seed = 0x5EED;
    private const int Inputs = 100_000;
    private const int MaxTokens = 40;
    private static readonly TimeSpan s_budget = TimeSpan.FromMinutes(2);

    private static readonly string[] s_tokens =
    [
        "x", "y", ".g", "@rax", "@al", "@r8h", "$context", "$pid", "$time", "rcx", "da", "0x10", "0n5", "0y11", "0o7", "12", "1.5",
        "\"s\"", "\"%d\\n\"", "L\"w\"", "+", "-", "*", "/", "%", "&", "|", "^", "~", "!", "<<", ">>", "<", ">", "<=", ">=", "==",
        "!=", "&&", "||", "=", "+=", "-=", "++", "--", "(", ")", "{", "}", ";", ",", "if", "elsif", "else", "while", "do", "for",
        "break", "continue", "return", "int", "void", "double", "poi", "printf", "db", "eq", "strlen", "test_statement",
        "interlocked_increment", "spinlock_lock", "f", "nt!Sym", "/*", "*/", "//", "\n", "[", "]", "#", "`",
    ];

    [Test]
    public void Compile_RandomInput_AcceptsOrRejectsCleanly()
    {
        // Arrange
        var random = new Random(Seed);
        string[] corpus = ConformanceData.ExpressionCases().Select(static c => c.Script).ToArray();
        TestScriptTarget target = ScriptHarness.Target();
        var globals = new ScriptGlobals();
        var clock = Stopwatch.StartNew();
        int accepted = 0;
        int rejected = 0;

        // Act
        for (int i = 0; i < Inputs; i++)
        {
            string source = (i % 3) switch
            {
                0 => Soup(random),
                1 when corpus.Length > 0 => Mutate(corpus[random.Next(corpus.Length)], random),
                _ => Mutate(Program(random), random, maxEdits: random.Next(2)),
            };
            CompiledScript? script;
            try
            {
                script = ScriptCompiler.Compile(source);
                accepted++;
            }
            catch (ScriptCompileException)
            {
                rejected++;
                continue;
            }

            // Compiled: running must end (success or runtime error), never throw.
            script.Run(target, globals);
            if (clock.Elapsed > s_budget)
            {
                Assert.Fail($"too slow: {i} inputs in {clock.Elapsed}");
            }
        }

        // Assert
        Assert.That(accepted + rejected, Is.EqualTo(Inputs));
        Assert.That(accepted, Is.GreaterThan(0), "some inputs should compile");
        Assert.That(rejected, Is.GreaterThan(0), "some inputs should be rejected");
        TestContext.Out.WriteLine($"accepted {accepted}, rejected {rejected}, {clock.Elapsed.TotalSeconds:F1} s");
    }

    private static string Soup(Random random)
    {
        var text = new StringBuilder();
        int count = random.Next(1, MaxTokens);
        for (int i = 0; i < count; i++)
        {
            text.Append(s_tokens[random.Next(s_tokens.Length)]).Append(random.Next(4) == 0 ? string.Empty : " ");
        }

        return text.ToString();
    }

    /// <summary>A random well-formed-looking program: statements and expressions built from the grammar.</summary>
    private static string Program(Random random)
    {
        var text = new StringBuilder();
        int statements = random.Next(1, 6);
        for (int i = 0; i < statements; i++)
        {
            text.Append(Statement(random, depth: 0)).Append('\n');
        }

        return text.ToString();
    }

    private static string Statement(Random random, int depth)
    {
        string[] targets = ["x", "y", ".g", "@rax", "@al", "counter"];
        string target = targets[random.Next(targets.Length)];
        return (depth > 2 ? random.Next(4) : random.Next(depth == 0 ? 9 : 8)) switch
        {
            0 => $"{target} = {Expression(random, 0)};",
            1 => $"{target} {(random.Next(2) == 0 ? "+=" : "<<=")} {Expression(random, 0)};",
            2 => $"test_statement({Expression(random, 0)});",
            3 => $"printf(\"%llx %d\\n\", {Expression(random, 0)}, {Expression(random, 0)});",
            4 => $"if ({Condition(random)}) {{ {Statement(random, depth + 1)} }} elsif ({Condition(random)}) {{ {Statement(random, depth + 1)} }} else {{ {Statement(random, depth + 1)} }}",
            5 => $"while ({Condition(random)}) {{ {Statement(random, depth + 1)} break; }}",
            6 => $"for (i = 0; i < {random.Next(1, 9)}; i++) {{ {Statement(random, depth + 1)} }}",
            7 => $"do {{ {Statement(random, depth + 1)} }} while ({Condition(random)} && 0);",
            _ => $"int fn{random.Next(1_000_000)}(int p) {{ return {Expression(random, 0)} + p; }} dv = 2.5 * {random.Next(9)};",
        };
    }

    private static string Condition(Random random)
    {
        string[] comparisons = ["==", "!=", "<", ">", "<=", ">="];
        string comparison = $"({Expression(random, 1)}) {comparisons[random.Next(comparisons.Length)]} ({Expression(random, 1)})";
        return random.Next(3) switch
        {
            0 => comparison,
            1 => $"{comparison} {(random.Next(2) == 0 ? "&&" : "||")} {Expression(random, 1)}",
            _ => Expression(random, 1),
        };
    }

    private static string Expression(Random random, int depth)
    {
        string[] leaves = ["x", "y", ".g", "@rax", "@r8h", "$context", "0x10", "0n7", "5", "da", "poi(@rsp)", "strlen(\"ab\")", "(int)(1.5 * 2)"];
        string[] operators = ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"];
        if (depth > 3 || random.Next(3) == 0)
        {
            return leaves[random.Next(leaves.Length)];
        }

        return random.Next(4) switch
        {
            0 => $"- {Expression(random, depth + 1)}",
            1 => $"({Expression(random, depth + 1)})",
            _ => $"{Expression(random, depth + 1)} {operators[random.Next(operators.Length)]} {Expression(random, depth + 1)}",
        };
    }

    private static string Mutate(string source, Random random, int maxEdits = 3)
    {
        var text = new StringBuilder(source);
        int edits = random.Next(maxEdits == 0 ? 0 : 1, maxEdits + 1);
        for (int e = 0; e < edits && text.Length > 0; e++)
        {
            int at = random.Next(text.Length);
            switch (random.Next(4))
            {
                case 0:
                    text.Remove(at, Math.Min(random.Next(1, 6), text.Length - at));
                    break;
                case 1:
                    text.Insert(at, s_tokens[random.Next(s_tokens.Length)]);
                    break;
                case 2:
                    text[at] = (char)random.Next(32, 127);
                    break;
                default:
                    int from = random.Next(text.Length);
                    int length = Math.Min(random.Next(1, 20), text.Length - from);
                    text.Insert(at, text.ToString(from, length));
                    break;
            }
        }

        return text.ToString();
    }
}
