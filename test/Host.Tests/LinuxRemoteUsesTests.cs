// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using System.Globalization;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <content>
/// The three uses on Debian's kernel: a headless agent whose <c>--script</c> records every OUT to 0x3f8 of a boot to a
/// file while a debugger attaches over a named pipe, and a debugger attached over a serial line (socat pty pair) to a
/// boot that the agent's script halts midway. The boot with <c>rdinit=/nonexistent panic=-1</c> panics in kernel_init
/// and resets the machine through the i8042, so the guest stops by itself.
/// </content>
public sealed partial class RemoteSessionTests
{
    /// <summary>README's COM1 example: the byte of an OUT (AL) or of a REP OUTSB (at RSI).</summary>
    private const string RecordCom1 =
        "!ioout 3f8 script { op = db(@rip); if (op == 0xf3) { op = db(@rip + 1); } if (op == 0x6e) { printf(\"%c\", db(@rsi)); } else { printf(\"%c\", @al); } } output {log}";

    [Test]
    public void Linux_HeadlessScriptRecordsEveryOutTo3f8_DebuggerOnANamedPipeSeesTheEventsUntilTheGuestStops()
    {
        // Arrange
        LinuxProcessesTests.SkipWithoutLinuxFiles();
        string dir = Directory.CreateTempSubdirectory("hdr-linux-headless-").FullName;
        string script = Path.Combine(dir, "record.ds");
        string console = Path.Combine(dir, "console.txt");
        string pipe = Path.Combine(dir, "agent.sock");
        File.WriteAllLines(script, ["output create log file com1-outs.txt truncate", "output open log", RecordCom1]);
        using Process agent = StartAgentFor(
            "linux,append=rdinit=/nonexistent panic=-1", "pipe:" + pipe, "--script", script, "--output-dir", dir, "--com1", "file:" + console);
        try
        {
            // Act: the debugger attaches while the kernel boots; 'r rip' waits for a halt, and fails at once when the
            // guest stops instead (the reset after the panic): that is when the boot is over. The wait is long (a
            // loaded machine boots slowly); it ends with the guest's stop, not with the time.
            (int exit, string output) = RunHostWith(["--wait", "600"], ".debug remote namedpipe " + pipe, "events", "r rip");
            Terminate(agent); // SIGTERM: the agent closes its outputs and COM backends, flushing them
            string recorded = File.ReadAllText(Path.Combine(dir, "com1-outs.txt"));
            string transmitted = File.ReadAllText(console);

            // Assert
            Assert.That(output, Does.Contain("(enabled)\t    !ioout 3f8 script { op = db(@rip);"), "the script's event, listed over the pipe");
            Assert.That(output, Does.Contain("the guest stopped"), output);
            Assert.That(exit, Is.Not.Zero, "r rip could not run on a stopped guest");
            Assert.That(transmitted, Does.Contain("Kernel panic - not syncing: VFS: Unable to mount root fs"));
            Assert.That(transmitted, Does.Contain("Linux version 6."));

            // every OUT to 0x3f8 is in the file: the line's bytes, and the divisor latch bytes that are not sent
            Assert.That(Text(recorded), Is.EqualTo(Text(transmitted)));
        }
        finally
        {
            Kill(agent);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Linux_DebuggerOnASerialLine_AttachesToABootTheScriptHalted_LooksAndContinuesToTheEnd()
    {
        // Arrange: the agent's script halts the boot at the 2000th byte written to COM1
        LinuxProcessesTests.SkipWithoutLinuxFiles();
        string dir = Directory.CreateTempSubdirectory("hdr-linux-serial-").FullName;
        string script = Path.Combine(dir, "halt.ds");
        File.WriteAllLines(script, ["!ioout 3f8 script { .n = .n + 1; if (.n == 0n2000) { pause(); } }"]);
        using SocatPtyPair ptys = SocatPtyPair.Start();
        using Process agent = StartAgentFor("linux,append=rdinit=/nonexistent panic=-1", $"serial:{ptys.First}?baud=115200", "--script", script);
        try
        {
            // Act
            (int exit, string output) = RunHostWith(
                ["--wait", "600"],
                $".debug remote serial 115200 {ptys.Second}",
                "r rip",
                "ln @rip",
                "? printf(\"[%d %s]\\n\", $pid, $pname);",
                "events c all",
                "g",
                ".status");

            // Assert: halted in the kernel's serial output, by the boot task, then running to the end
            Assert.That(exit, Is.Zero, output);
            Assert.That(output, Does.Match(@"rip=ffffffff[0-9a-f]{8}\n"));
            Assert.That(output, Does.Match(@"\(ffffffff`[0-9a-f]{8}\)   linux!io_serial_out\+0x[0-9a-f]+ "));
            Assert.That(output, Does.Contain("[0 swapper"));
            Assert.That(output, Does.Match(@"debuggee: (running|stopped)"));
        }
        finally
        {
            Kill(agent);
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The text of a capture without the bytes a terminal does not show (the divisor latch's 0x01 0x00).</summary>
    private static string Text(string s) => new([.. s.Where(c => c is '\n' or '\r' or '\t' || c >= ' ')]);

    private static Process StartAgentFor(string guest, string listen, params string[] options)
    {
        Process agent = Start("dotnet", [Dll("Debuggee.Agent", "HyperDbgRemote.Agent.dll"), "--guest", guest, "--listen", listen, .. options]);
        Task<string?> line = agent.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(60)) || line.Result is null || !line.Result.Contains("\"ready\":true", StringComparison.Ordinal))
        {
            Kill(agent);
            throw new AssertionException("the agent did not get ready");
        }

        return agent;
    }

    private static void Terminate(Process agent)
    {
        using Process kill = Process.Start("kill", ["-TERM", agent.Id.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.That(agent.WaitForExit(60_000), Is.True, "the agent ended on SIGTERM");
    }
}
