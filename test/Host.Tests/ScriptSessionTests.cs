// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text.RegularExpressions;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <summary>
/// Scripts through the real debugger process (bin/hyperdbg, an embedded agent): HyperDbg's semantic conformance
/// scripts on a halted demo guest, and SeaBIOS's boot log printed by an <c>!ioout 402</c> script.
/// </summary>
[Category("EndToEnd")]
public sealed partial class ScriptSessionTests
{
    private const string SemanticSuite = "script-engine/semantic";
    private const string SeaBios = "/usr/share/seabios/bios.bin";

    public static IEnumerable<TestCaseData> SemanticFiles()
    {
        string? folder = ConformanceRoot.Find(SemanticSuite);
        string[] files = folder is null ? [] : [.. Directory.GetFiles(folder, "*.ds").Order(StringComparer.Ordinal)];
        if (files.Length == 0)
        {
            yield return new TestCaseData(string.Empty).SetName($"{SemanticSuite}: {ConformanceRoot.NotFound}");
            yield break;
        }

        foreach (string file in files)
        {
            yield return new TestCaseData(file).SetName($"{SemanticSuite}: {Path.GetFileName(file)}");
        }
    }

    /// <summary>Runs <c>bin/hyperdbg ARGS</c> (two minutes at most: a conformance file runs many cases); stdout and stderr.</summary>
    private static (int Exit, string Output) RunHyperDbg(params string[] args)
    {
        (int exit, string output, string errors) = HyperDbgProcess.Run(TimeSpan.FromSeconds(120), args);
        return (exit, output + errors);
    }

    [GeneratedRegex(@"^test case (\d+) was (successful|failed)$", RegexOptions.Multiline)]
    private static partial Regex CaseResult();

    [TestCaseSource(nameof(SemanticFiles))]
    [Category("Conformance")]
    public void Semantic_ThroughTheDebugger_EveryCaseSuccessful(string path)
    {
        if (path.Length == 0)
        {
            Assert.Ignore(ConformanceRoot.NotFound);
        }

        (int exit, string output) = RunHyperDbg("--local", "--guest", "demo", "-c", "pause", "-c", $".script {path}");

        Assert.That(exit, Is.Zero, output);
        Match range = Regex.Match(Path.GetFileName(path), @"_(\d+)-(\d+)\.ds$");
        Assert.That(range.Success, Is.True, "the file name gives the case range");
        int first = int.Parse(range.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        int last = int.Parse(range.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        List<(int Case, string Result)> results = [.. CaseResult().Matches(output).Select(m => (int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), m.Groups[2].Value))];
        Assert.That(results.Where(r => r.Result == "failed"), Is.Empty, output);
        Assert.That(results.Select(r => r.Case), Is.EquivalentTo(Enumerable.Range(first, last - first + 1)), output);
    }

    [Test]
    public void SeaBios_Port402Script_PrintsTheBootLog()
    {
        if (!File.Exists(SeaBios))
        {
            Assert.Ignore($"{SeaBios} is missing: ./build.sh deps installs Debian's seabios");
        }

        (int exit, string output) = RunHyperDbg(
            "--guest", $"bios:{SeaBios}", "--initial-break",
            "-c", "!ioout 402 script { printf(\"%c\", @al); }",
            "-c", "g",
            "-c", "sleep 0n3000");

        Assert.That(exit, Is.Zero, output);
        Assert.That(output, Does.Contain("SeaBIOS (version"));
        Assert.That(output, Does.Contain("Found QEMU fw_cfg"));
        Assert.That(output, Does.Contain("No bootable device"), "the whole log, up to the end of the boot attempt");
    }

    [Test]
    public void Evaluate_CompileError_ShownWithCaret_NothingSent()
    {
        (int exit, string output) = RunHyperDbg("--local", "--guest", "demo", "-c", "pause", "-c", "? x = (1;");

        Assert.That(exit, Is.EqualTo(1));
        Assert.That(output, Does.Contain("the script does not compile: line 1, column").And.Contain("^"));
    }

    [Test]
    public void Evaluate_AssignmentToBareRegisterName_WarnsAndWritesTheRegister()
    {
        (int exit, string output, string errors) = HyperDbgProcess.Run(
            TimeSpan.FromSeconds(60), "--local", "--guest", "demo", "-c", "pause", "-c", "? ch = 5a;", "-c", "? printf(\"%x\\n\", @ch);", "-c", "!ioout 81 script { dl = 1; }");

        Assert.That(exit, Is.Zero, output + errors);
        Assert.That(errors, Does.Contain("warning: line 1, column 1: 'ch' is the guest register @ch, so this writes the register"));
        Assert.That(output, Does.Contain("5a\n"));
        Assert.That(errors, Does.Contain("'dl' is the guest register @dl"), "event scripts are checked too");
        Assert.That(output, Does.Contain("registered"));
    }
}
