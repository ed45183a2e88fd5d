// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text.RegularExpressions;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <content>
/// README's "every byte the guest writes to COM1" example, its exact text, run by bin/hyperdbg against the demo
/// guest, which writes its banner once with OUT and once with REP OUTSB: both banners arrive byte for byte. The
/// watch.ds example of the README uses the same text.
/// </content>
public sealed partial class RemoteSessionTests
{
    private const string Banner = "HyperDbgRemote demo guest 1.0\r";

    private static string ReadmeComExample()
    {
        string root = ConformanceRoot.SolutionDirectory() ?? throw new AssertionException("HyperDbgRemote.sln not found");
        string[] lines = File.ReadAllLines(Path.Combine(root, "README.md"));
        int paragraph = Array.FindIndex(lines, l => l.StartsWith("Every byte the guest writes to COM1", StringComparison.Ordinal));
        Assert.That(paragraph, Is.GreaterThanOrEqualTo(0), "README has the COM1 example");
        int fence = Array.FindIndex(lines, paragraph, l => l.StartsWith("```", StringComparison.Ordinal));
        return lines[fence + 1];
    }

    [Test]
    public void Readme_ComExample_PrintsEveryByte_OfOutAndOfRepOutsb()
    {
        // Arrange: the example, and a second event that halts at the POST code the demo writes after its REP OUTSB banner
        string example = ReadmeComExample();
        Assert.That(example, Does.StartWith("!ioout 3f8 script {"));

        // Act
        (int exit, string output) = RunHostWith(
            ["--guest", "demo", "--initial-break"],
            example,
            "!ioout 80 script { if (@al == 0x11) { pause(); } }",
            "g",
            "r rip");

        // Assert: the banner twice (OUT, then REP OUTSB), nothing else printed by the example
        Assert.That(exit, Is.Zero, output);
        Assert.That(Regex.Count(output, Regex.Escape(Banner)), Is.EqualTo(2), output);
        Assert.That(output, Does.Contain(Banner + "\n" + Banner), "the two banners back to back, no stray bytes");
    }

    [Test]
    public void Readme_WatchScript_UsesTheComExample()
    {
        string root = ConformanceRoot.SolutionDirectory() ?? throw new AssertionException("HyperDbgRemote.sln not found");
        string readme = File.ReadAllText(Path.Combine(root, "README.md"));
        Assert.That(readme, Does.Contain(ReadmeComExample() + " output {com1}"));
        Assert.That(readme, Does.Not.Contain("!ioout 3f8 script { printf(\"%c\", @al); }"), "AL is not the byte of a REP OUTSB");
    }
}
