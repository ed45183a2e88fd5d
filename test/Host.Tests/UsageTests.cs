// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using System.Text.RegularExpressions;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <content>
/// The usage texts of <c>bin/hyperdbg --help</c> and <c>bin/hyperdbg-agent --help</c>, run as a user runs them: they
/// name every listener kind, and their "exit status" paragraphs name exactly the codes the programs return, each of
/// which is then provoked for real (a failing command, bad arguments, a missing CPU engine).
/// </content>
public sealed partial class RemoteSessionTests
{
    private static readonly string[] s_listenerKinds = ["grpc://", "grpc+unix:", "tcp://", "pipe:", "serial:"];

    private static readonly (string Name, string Value) s_noEngine = ("HYPERDBG_UNICORN_LIBRARY", "/nonexistent/libunicorn.so.2");

    [TestCase("hyperdbg")]
    [TestCase("hyperdbg-agent")]
    public void Usage_NamesEveryListenerKind_AndTheExitCodes(string program)
    {
        (int exit, string output) = RunProgram(program, ["--help"]);

        Assert.That(exit, Is.Zero, output);
        Assert.Multiple(() =>
        {
            foreach (string kind in s_listenerKinds)
            {
                Assert.That(output, Does.Contain(kind), $"{program} --help names the {kind} listener");
            }

            Assert.That(DocumentedExitCodes(output), Is.EquivalentTo(new[] { 0, 1, 2, 3 }));
        });
    }

    [Test]
    public void Hyperdbg_ExitCodes_AreTheDocumentedOnes()
    {
        Assert.Multiple(() =>
        {
            Assert.That(RunProgram("hyperdbg", ["--guest", "demo", "-c", ".status"]).Exit, Is.Zero);
            Assert.That(RunProgram("hyperdbg", ["--guest", "demo", "-c", "no-such-command"]).Exit, Is.EqualTo(1));
            Assert.That(RunProgram("hyperdbg", ["--no-such-option"]).Exit, Is.EqualTo(2));
            Assert.That(RunProgram("hyperdbg", ["--connect", "tcp://127.0.0.1:1", "-c", ".status"]).Exit, Is.EqualTo(2), "an agent that cannot be reached");
            Assert.That(RunProgram("hyperdbg", ["--guest", "demo", "-c", ".status"], s_noEngine).Exit, Is.EqualTo(3));
        });
    }

    [TestCase("--local")]
    [TestCase("--guest", "demo")]
    [TestCase("--cores", "2")]
    [TestCase("--initial-break")]
    public void Hyperdbg_ConnectWithALocalOption_IsRefusedAndNamesBoth(params string[] localOption)
    {
        (int exit, string output) = RunProgram("hyperdbg", [.. localOption, "--connect", "tcp://127.0.0.1:1", "-c", ".status"]);

        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(2), output);
            Assert.That(output, Does.Contain("--connect").And.Contain(localOption[0]));
        });
    }

    [TestCase("--connect")]
    [TestCase("--token")]
    public void Hyperdbg_OptionWithoutItsValue_IsRefused(string option)
    {
        (int exit, string output) = RunProgram("hyperdbg", [option]);

        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(2), output);
            Assert.That(output, Does.Contain(option + " needs"));
        });
    }

    [Test]
    public void HyperdbgAgent_ExitCodes_AreTheDocumentedOnes()
    {
        Assert.Multiple(() =>
        {
            Assert.That(RunProgram("hyperdbg-agent", ["--guest", "demo", "--run-seconds", "0.2"]).Exit, Is.Zero);
            Assert.That(RunProgram("hyperdbg-agent", ["--no-such-option"]).Exit, Is.EqualTo(2));
            Assert.That(RunProgram("hyperdbg-agent", ["--guest", "demo", "--listen", "ftp://127.0.0.1:1"]).Exit, Is.EqualTo(2), "a listener that cannot be used");
            Assert.That(RunProgram("hyperdbg-agent", ["--guest", "demo", "--run-seconds", "0.2"], s_noEngine).Exit, Is.EqualTo(3));
        });
    }

    [TestCase("hyperdbg", "0")]
    [TestCase("hyperdbg", "17")]
    [TestCase("hyperdbg-agent", "0")]
    [TestCase("hyperdbg-agent", "17")]
    public void Cores_OutOfRange_IsRefusedNamingTheRange(string program, string cores)
    {
        string[] args = program == "hyperdbg" ? ["--guest", "demo", "--cores", cores, "-c", ".status"] : ["--guest", "demo", "--cores", cores, "--run-seconds", "0.2"];
        (int exit, string output) = RunProgram(program, args);
        Assert.That(exit, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("--cores takes a number from 1 to 16"));
    }

    [Test]
    public void HyperdbgAgent_LinuxOnTwoCoresWithoutApics_IsRefusedNamingTheApicOption()
    {
        string? folder = VmxDriver.Guests.Linux.LinuxGuestFiles.FindDirectory();
        if (folder is null || !File.Exists(Path.Combine(folder, VmxDriver.Guests.Linux.LinuxGuestFiles.KernelFile)))
        {
            Assert.Ignore("skipped: the Linux guest files are missing (run ./build.sh deps)");
        }

        (int exit, string output) = RunProgram("hyperdbg-agent", ["--guest", $"linux:{Path.Combine(folder!, VmxDriver.Guests.Linux.LinuxGuestFiles.KernelFile)}", "--cores", "2", "--run-seconds", "0.2"]);
        Assert.That(exit, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("needs APICs: give the option apic=on"));
    }

    /// <summary>The codes of the "exit status:" paragraph: each digit followed by "when", "at" or "for", or "without".</summary>
    private static int[] DocumentedExitCodes(string usage)
    {
        int start = usage.IndexOf("exit status:", StringComparison.Ordinal);
        Assert.That(start, Is.GreaterThanOrEqualTo(0), "the usage has an exit status paragraph");
        return [.. Regex.Matches(usage[start..], @"\b(\d) (?:when|at|for|without)\b").Select(m => m.Groups[1].Value[0] - '0').Distinct()];
    }

    /// <summary>Runs <c>bin/PROGRAM</c> (the launcher ./build.sh writes; the assembly of this build without it).</summary>
    private static (int Exit, string Output) RunProgram(string program, string[] args, params (string Name, string Value)[] environment)
    {
        ProcessStartInfo psi = program == "hyperdbg" ? DebuggerProcesses.DebuggerStartInfo(args) : DebuggerProcesses.AgentStartInfo(args);
        (int exit, string output, string errors) = DebuggerProcesses.RunToEnd(psi, TimeSpan.FromSeconds(60), environment);
        return (exit, output + errors);
    }
}
