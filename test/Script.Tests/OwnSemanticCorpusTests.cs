// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;
using System.Text.RegularExpressions;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Script.Tests;

/// <summary>
/// Our own self-checking scripts (Data/semantic, in the shape of HyperDbg's semantic tests, expected values following
/// HyperDbg 0.23's semantics) through the real path: <c>bin/hyperdbg --local --guest demo -c pause -c '.script FILE'</c>.
/// Every case of a file must print "test case N was successful" and none "failed". <c>./build.sh conformance</c> runs
/// the same files and counts the cases.
/// </summary>
[Category("EndToEnd")]
public sealed partial class OwnSemanticCorpusTests
{
    private static readonly TimeSpan s_limit = TimeSpan.FromMinutes(10);

    public static IEnumerable<TestCaseData> Files() =>
        Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Data", "semantic"), "*.ds")
            .Order(StringComparer.Ordinal)
            .Select(f => new TestCaseData(f).SetName($"OwnSemantic: {Path.GetFileName(f)}"));

    [GeneratedRegex(@"^test case (\d+) was (successful|failed)$", RegexOptions.Multiline)]
    private static partial Regex CaseLine();

    [GeneratedRegex(@"_(\d+)-(\d+)\.ds$")]
    private static partial Regex Range();

    [Test]
    public void Corpus_HasAtLeast300Cases()
    {
        int cases = Files().Sum(f =>
        {
            Match range = Range().Match((string)f.Arguments[0]!);
            return int.Parse(range.Groups[2].Value, CultureInfo.InvariantCulture) - int.Parse(range.Groups[1].Value, CultureInfo.InvariantCulture) + 1;
        });
        Assert.That(cases, Is.GreaterThanOrEqualTo(300));
    }

    [TestCaseSource(nameof(Files))]
    public void SemanticFile_ThroughTheDebugger_EveryCaseSuccessful(string path)
    {
        // Act
        (int exit, string output, string errors) = DebuggerProcesses.RunDebugger(s_limit, "--local", "--guest", "demo", "-c", "pause", "-c", $".script {path}");

        // Assert
        Assert.That(exit, Is.Zero, errors + output);
        Match range = Range().Match(Path.GetFileName(path));
        int first = int.Parse(range.Groups[1].Value, CultureInfo.InvariantCulture);
        int last = int.Parse(range.Groups[2].Value, CultureInfo.InvariantCulture);
        List<(int Case, string Result)> results = [.. CaseLine().Matches(output).Select(m => (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m.Groups[2].Value))];
        Assert.That(results.Where(r => r.Result == "failed"), Is.Empty, output);
        Assert.That(results.Select(r => r.Case), Is.EquivalentTo(Enumerable.Range(first, last - first + 1)), output);
    }
}
