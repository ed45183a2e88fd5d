// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using System.Text.RegularExpressions;

namespace HyperDbgRemote.Host.Tests;

/// <content>The agent's headless mode: <c>--script FILE</c> sets events and outputs before the guest starts; a
/// debugger attaches later and sees them.</content>
public sealed partial class RemoteSessionTests
{
    [Test]
    public void Headless_ScriptSetsEventsAndOutputs_HostAttachesLaterAndSeesEverything()
    {
        string dir = Directory.CreateTempSubdirectory("hdr-headless-").FullName;
        string log = Path.Combine(dir, "com1.txt");
        string script = Path.Combine(dir, "start.ds");
        File.WriteAllLines(script,
        [
            "output create log file com1.txt truncate",
            "output open log",
            "!ioout 3f8 script { printf(\"%c\", @al); } output {log}",
            "!ioout 80 script { .posts = .posts + 1; }",
        ]);
        int port = FreePort();
        using Process agent = StartAgent($"tcp://127.0.0.1:{port}", "--script", script, "--output-dir", dir);
        try
        {
            // With no debugger attached the guest runs and the output file receives COM1.
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(20) && !(File.Exists(log) && File.ReadAllText(log).Contains("HyperDbgRemote demo guest 1.0", StringComparison.Ordinal)))
            {
                Thread.Sleep(100);
            }

            Assert.That(File.ReadAllText(log), Does.Contain("HyperDbgRemote demo guest 1.0"));

            (int exit, string output) = RunHost($".connect tcp://127.0.0.1:{port}", "events", "output", "pause", "? printf(\"posts=%x\\n\", .posts);", "g");

            Assert.That(exit, Is.Zero, output);
            Assert.That(output, Does.Contain("!ioout 3f8 script { printf(\"%c\", @al); } output {log}"));
            Assert.That(output, Does.Contain("!ioout 80 script { .posts = .posts + 1; }"));
            Assert.That(output, Does.Match(@"file\s+opened\s+log"));
            Assert.That(output, Does.Contain("com1.txt"));
            Match posts = Regex.Match(output, "posts=([0-9a-f]+)");
            Assert.That(posts.Success, Is.True, output);
            Assert.That(Convert.ToUInt64(posts.Groups[1].Value, 16), Is.GreaterThan(0UL), "the event counted OUTs while no debugger was attached");
        }
        finally
        {
            Kill(agent);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Headless_FailingCommand_AgentExitsWithTheErrorAndStartsNothing()
    {
        string script = Path.Combine(Path.GetTempPath(), $"hdr-bad-{Guid.NewGuid():N}.ds");
        File.WriteAllLines(script, ["!ioout 80", "!ioout 10000"]);
        try
        {
            using Process agent = Start("dotnet", [Dll("Debuggee.Agent", "HyperDbgRemote.Agent.dll"), "--guest", "demo", "--listen", $"tcp://127.0.0.1:{FreePort()}", "--script", script], drainErrors: false);
            string errors = agent.StandardError.ReadToEnd();
            string output = agent.StandardOutput.ReadToEnd();
            Assert.That(agent.WaitForExit(30_000), Is.True);

            Assert.That(agent.ExitCode, Is.EqualTo(2), errors);
            Assert.That(errors, Does.Contain("port '10000' is invalid"));
            Assert.That(output, Does.Not.Contain("\"ready\":true"), "the agent never announced itself");
        }
        finally
        {
            File.Delete(script);
        }
    }
}
