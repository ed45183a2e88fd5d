// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;
using System.Text.RegularExpressions;

namespace HyperDbgRemote.Script.Tests;

/// <summary>
/// HyperDbg's script-engine conformance corpus (../shared/conformance/script-engine, README there).
/// HyperDbg's generator (script-engine-test, EvalScripts) evaluated every case with C# <c>int</c> and printed it with
/// <c>ToString("X")</c>, and for loop cases appended <c>test_statement(tmp_counter)</c>. Results are compared on all 64
/// bits: an expected value of up to 8 hex digits is the low half of a sign-extended 64-bit value. A "wrong" case passes
/// only with the kind of error HyperDbg gives (its "invalid syntax": our syntax and type errors), not with any error.
/// Where HyperDbg 0.23 itself does something else than the suite expects, the case is pinned (Data/
/// shared-expressions-vs-hyperdbg.txt, derived from HyperDbg's own evaluator): to HyperDbg's answer, or to ours, with the
/// reason below; the test name says which, and the conformance summary counts them.
/// </summary>
public sealed class CompiledScriptConformanceTests
{
    private const ulong Low32 = 0xFFFF_FFFF;
    private const int Int32HexDigits = 8;
    private const string LoopSuffix = " test_statement(tmp_counter);";
    private const string ExpressionSuite = "script-engine/expressions";
    private const string PinsFile = "shared-expressions-vs-hyperdbg.txt";

    /// <summary>What a pinned case must do here, whose answer that is, and why.</summary>
    private static readonly Dictionary<string, (Outcome Expect, bool Ours, string Why)> s_pins = new(StringComparer.Ordinal)
    {
        ["hyperdbg-runtime-error"] = (Outcome.ShiftError, false,
            "HyperDbg 0.23 stops at run time: its typed shifts refuse a count of 64 or more (here a negative one); the suite, computed with C# int, masked the count"),
        ["hyperdbg-runs-it-too"] = (Outcome.Runs, false,
            "HyperDbg 0.23 accepts a number as a condition and runs it; C# refused it"),
        ["hyperdbg-fails-to-parse"] = (Outcome.SuiteValue, true,
            "HyperDbg 0.23 fails to parse this while condition (a defect of its condition scanner); we give the suite's value"),
        ["hyperdbg-runs-it"] = (Outcome.CompileError, true,
            "HyperDbg 0.23 accepts it (a condition mixed with a number, or ++/-- on a register) and runs it; we refuse it, as the suite (C#'s typing) requires"),
        ["hyperdbg-fails-at-run-time"] = (Outcome.CompileError, true,
            "HyperDbg 0.23 accepts it and stops at run time (a shift count it refuses); we refuse it when compiling, as the suite requires"),
        ["hyperdbg-unresolved-variable"] = (Outcome.CompileError, true,
            "HyperDbg 0.23 first refuses to read a variable never assigned; we report the syntax error further on (variables start at 0, as the suite's README says)"),
        ["hyperdbg-crashes"] = (Outcome.CompileError, true,
            "HyperDbg 0.23's compiler crashes on it; we report the error"),
        ["our-runtime-error"] = (Outcome.ShiftError, true,
            "HyperDbg 0.23 refuses the condition's syntax; we accept a number as a condition (the semantic suite needs it) and stop at run time on its shift count"),
    };

    /// <summary>What a case must do.</summary>
    public enum Outcome
    {
        /// <summary>Run and record the suite's value (64 bits).</summary>
        SuiteValue,

        /// <summary>Fail to compile with a syntax or type error (HyperDbg's "invalid syntax").</summary>
        CompileError,

        /// <summary>Compile, then stop at run time on a shift count.</summary>
        ShiftError,

        /// <summary>Compile and run without error.</summary>
        Runs,
    }

    public static IEnumerable<TestCaseData> ExpressionCases()
    {
        Dictionary<string, string> pins = Pins();
        bool any = false;
        foreach (ExpressionCase c in ConformanceData.ExpressionCases())
        {
            any = true;
            string id = $"{c.File}:{c.Line}";
            (Outcome expect, string name) = pins.TryGetValue(id, out string? reason)
                ? (s_pins[reason].Expect, $"{ExpressionSuite}: {id} (pinned to {(s_pins[reason].Ours ? "ours" : "HyperDbg")}: {reason})")
                : (c.Expected is null ? Outcome.CompileError : Outcome.SuiteValue, $"{ExpressionSuite}: {id}");
            yield return new TestCaseData(c.File, c.Script, c.Expected, expect).SetName(name);
        }

        if (!any)
        {
            yield return new TestCaseData(string.Empty, string.Empty, null, Outcome.Runs).SetName($"{ExpressionSuite}: {ConformanceData.NotFound}");
        }
    }

    public static IEnumerable<TestCaseData> SemanticFiles()
    {
        bool any = false;
        foreach (string path in ConformanceData.SemanticFiles())
        {
            any = true;
            yield return new TestCaseData(path).SetName($"script-engine/semantic (in-memory target): {Path.GetFileName(path)}");
        }

        if (!any)
        {
            yield return new TestCaseData(string.Empty).SetName($"script-engine/semantic (in-memory target): {ConformanceData.NotFound}");
        }
    }

    /// <summary>The pinned cases (FILE:LINE to reason) of Data/shared-expressions-vs-hyperdbg.txt.</summary>
    private static Dictionary<string, string> Pins()
    {
        var pins = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Data", PinsFile)))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            string[] parts = line.Split(' ', 2);
            if (parts.Length != 2 || !s_pins.ContainsKey(parts[1]))
            {
                throw new InvalidDataException($"{PinsFile}: '{line}' is not 'FILE:LINE REASON' with a known reason");
            }

            pins.Add(parts[0], parts[1]);
        }

        return pins;
    }

    [TestCaseSource(nameof(ExpressionCases))]
    [Category("Conformance")]
    public void Run_ExpressionCase_MatchesExpected(string file, string script, string? expected, Outcome expect)
    {
        if (file.Length == 0)
        {
            Assert.Ignore(ConformanceData.NotFound);
        }

        // Arrange
        string source = file.Contains("loop", StringComparison.Ordinal) ? script + LoopSuffix : script;
        TestScriptTarget target = ConformanceTargets.Expressions();

        // Act
        bool compiled = ScriptCompiler.TryCompile(source, out CompiledScript? compiledScript, out string? error);
        ScriptRunResult result = compiled ? compiledScript!.Run(target, new ScriptGlobals()) : default;
        ulong recorded = target.TestValues.Count > 0 ? target.TestValues[^1] : 0;

        // Assert
        switch (expect)
        {
            case Outcome.CompileError:
                Assert.That(compiled, Is.False, $"expected a syntax error, but the script compiled and {(result.Success ? $"recorded 0x{recorded:x}" : $"failed at run time: {result.Error}")}");
                string cause = Assert.Throws<ScriptCompileException>(() => ScriptCompiler.Compile(source))!.Cause;
                Assert.That(cause, Does.StartWith("syntax error").Or.StartWith("type error"), "HyperDbg's error is a syntax error");
                break;
            case Outcome.ShiftError:
                Assert.That(compiled, Is.True, error);
                Assert.That(result.Error, Does.Contain("shift count"));
                break;
            case Outcome.Runs:
                Assert.That(compiled, Is.True, error);
                Assert.That(result.Success, Is.True, result.Error);
                break;
            default:
                Assert.That(compiled, Is.True, error);
                Assert.That(result.Success, Is.True, result.Error);
                ulong want = ulong.Parse(expected!, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (expected!.Length <= Int32HexDigits && (want & 0x8000_0000) != 0)
                {
                    want |= ~Low32;
                }

                Assert.That(recorded, Is.EqualTo(want), $"recorded 0x{recorded:x}, expected 0x{want:x} (all 64 bits)");
                break;
        }
    }

    [TestCaseSource(nameof(SemanticFiles))]
    public void Run_SemanticFile_EveryCaseSuccessful(string path)
    {
        if (path.Length == 0)
        {
            Assert.Ignore(ConformanceData.NotFound);
        }

        // Arrange
        string script = ConformanceData.ExtractScript(File.ReadAllText(path));
        TestScriptTarget target = ConformanceTargets.Semantic();
        CompiledScript compiled = ScriptCompiler.Compile(script, new ScriptCompileOptions { SymbolResolver = target });

        // Act
        ScriptRunResult result = compiled.Run(target, new ScriptGlobals());

        // Assert
        Assert.That(result.Success, Is.True, result.Error);
        string output = target.Output;
        Assert.That(output, Does.Not.Contain("failed"), output);
        Match range = Regex.Match(Path.GetFileName(path), @"_(\d+)-(\d+)\.ds$");
        Assert.That(range.Success, Is.True, "file name should give the case range");
        int first = int.Parse(range.Groups[1].Value, CultureInfo.InvariantCulture);
        int last = int.Parse(range.Groups[2].Value, CultureInfo.InvariantCulture);
        for (int n = first; n <= last; n++)
        {
            Assert.That(output, Does.Contain($"test case {n} was successful\n"), output);
        }
    }
}
