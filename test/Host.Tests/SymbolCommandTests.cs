// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <summary><c>x</c>, <c>ln</c>, and symbols in <c>u</c> and addresses, through bin/hyperdbg on the demo guest (its
/// labels) and on the Linux guest (System.map).</summary>
[Category("EndToEnd")]
public sealed class SymbolCommandTests
{
    [Test]
    public void SymbolCommands_OnTheDemoGuest_NameItsLabels()
    {
        // Act
        (int exit, string output, string error) = HyperDbgProcess.Run(
            "--guest", "demo", "--initial-break",
            "-c", "x demo!PRINT_*", // the first command's output may follow the initial break's notice
            "-c", "x nt!*",
            "-c", "ln demo!print_name+3",
            "-c", "ln 100000",
            "-c", "u demo!print_name l 2",
            "-c", "u 100027 l 1",
            "-c", "x no_such_*",
            "-c", "ln 10",
            "-c", "u demo!no_such_label");

        // Assert (the initial break's notice comes when it comes: between any two lines)
        output = WithoutInitialBreakNotice(output);
        Assert.That(exit, Is.EqualTo(1), "the last command fails: " + output + error);
        Assert.That(output, Does.Contain($"\n{DemoSymbols.Shown("print_name")}  demo!print_name\n{DemoSymbols.Shown("print_hex16")}  demo!print_hex16\n"), "by address, case-insensitive");
        Assert.That(output, Does.Contain($"x nt!*\n{DemoSymbols.Shown("nt_ExAllocatePoolWithTag")}  nt!ExAllocatePoolWithTag\n0: kHyperDbg> ln"));
        Assert.That(output, Does.Contain($"({DemoSymbols.Shown("print_name")})   demo!print_name+0x3   |  ({DemoSymbols.Shown("name_done")})   demo!name_done\n"));
        Assert.That(output, Does.Contain("(00000000`00100000)   demo!start   |  (00000000`00100025)   demo!banner_loop\nExact matches:\n    demo!start\n"));
        Assert.That(output, Does.Contain($"> u demo!print_name l 2\ndemo!print_name:\n{DemoSymbols.Shown("print_name")} "));
        Assert.That(output, Does.Contain("> u 100027 l 1\ndemo!banner_loop+0x2:\n00000000`00100027 "));
        Assert.That(output, Does.Contain("no symbol matches 'no_such_*'"));
        Assert.That(output, Does.Contain("no symbol at or below 10\n"));
        Assert.That(output + error, Does.Contain("symbol 'demo!no_such_label' not found"));
    }

    [Test]
    public void SymbolCommands_OnTheLinuxGuest_UseItsSystemMap()
    {
        // Arrange: the kernel ./build.sh deps fetched (the guest is not run: its symbols are there before it starts)
        string root = ConformanceRoot.SolutionDirectory() ?? throw new AssertionException("HyperDbgRemote.sln not found");
        string map = Path.Combine(root, ".cache", "linux", "System.map");
        if (!File.Exists(map) || !File.Exists(Path.Combine(root, ".cache", "linux", "vmlinuz")))
        {
            Assert.Ignore("skipped: the Linux guest files are missing (run ./build.sh deps)");
        }

        string startKernel = File.ReadLines(map).Select(l => l.Split(' ')).First(f => f.Length == 3 && f[2] == "start_kernel")[0];

        // Act
        (int exit, string output, string error) = HyperDbgProcess.Run(
            "--guest", "linux", "--initial-break",
            "-c", "x linux!start_kernel",
            "-c", "x linux!start_kern?l",
            "-c", "ln linux!start_kernel+1a",
            "-c", "x " + new string('a', 300));

        // Assert
        output = WithoutInitialBreakNotice(output);
        Assert.That(exit, Is.EqualTo(1), "the last command fails: " + output + error);
        string formatted = $"{startKernel[..8]}`{startKernel[8..]}";
        Assert.That(output, Does.Contain($"\n{formatted}  linux!start_kernel\n"));
        Assert.That(output, Does.Contain($"> x linux!start_kern?l\n{formatted}  linux!start_kernel\n"));
        Assert.That(output, Does.Contain($"({formatted})   linux!start_kernel+0x1a   |  ("));
        Assert.That(output + error, Does.Contain("the pattern is 300 characters; the limit is 256"));
    }

    /// <summary>The output without the initial break's two lines (its notice and the instruction), which the debugger
    /// prints when the notification arrives, between any two lines of the commands' output.</summary>
    private static string WithoutInitialBreakNotice(string output) =>
        System.Text.RegularExpressions.Regex.Replace(output, @"initial break: all cores halted before the first instruction \(core 0\)\n[^\n]*\n", string.Empty);
}
