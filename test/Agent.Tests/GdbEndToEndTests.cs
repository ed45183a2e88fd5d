// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using System.Text.RegularExpressions;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Agent.Tests;

/// <summary>Debian's real gdb against a real agent process on the demo guest, through <c>--listen gdb://</c>.</summary>
[NonParallelizable]
public sealed partial class GdbEndToEndTests
{
    private const string Gdb = "/usr/bin/gdb";

    /// <summary>The demo guest's <c>mov dx,3F8h</c>, the fourth instruction.</summary>
    private const ulong BreakAddress = 0x100019;

    private static string RunPython(string script)
    {
        var psi = new ProcessStartInfo("python3") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using Process p = Process.Start(psi)!;
        p.StandardInput.Write(script);
        p.StandardInput.Close();
        Task<string> output = p.StandardOutput.ReadToEndAsync();
        Task<string> error = p.StandardError.ReadToEndAsync();
        Assert.That(p.WaitForExit(TimeSpan.FromMinutes(2)), Is.True, "gdb finished");
        return output.Result + error.Result;
    }

    /// <summary>Runs gdb in batch mode on a pseudo-terminal (so its output is not held in a buffer); with
    /// <paramref name="interruptAfter"/>, sends gdb SIGINT once its remote log shows that packet sent. The architecture is
    /// set before connecting unless <paramref name="architecture"/> is null (then the target description decides).</summary>
    private static string RunGdb(int port, string[] commands, string? interruptAfter = null, string? architecture = "i386:x86-64")
    {
        string[] setArchitecture = architecture is null ? [] : ["-ex", $"set architecture {architecture}"];
        string args = string.Join(", ", new[] { "-batch", "-nx" }.Concat(setArchitecture).Concat(["-ex", $"target remote 127.0.0.1:{port}"])
            .Concat(commands.SelectMany(c => new[] { "-ex", c })).Select(a => "'" + a.Replace("'", "\\'", StringComparison.Ordinal) + "'"));
        string trigger = interruptAfter is null ? "None" : "b'" + interruptAfter + "'";
        return RunPython($$"""
            import os, pty, signal, subprocess
            m, s = pty.openpty()
            p = subprocess.Popen(['{{Gdb}}', {{args}}], stdout=s, stderr=s, stdin=subprocess.DEVNULL)
            os.close(s)
            buf = b''
            trigger = {{trigger}}
            while True:
                try:
                    d = os.read(m, 4096)
                except OSError:
                    break
                if not d:
                    break
                buf += d
                if trigger is not None and trigger in buf:
                    p.send_signal(signal.SIGINT)
                    trigger = None
            p.wait()
            print(buf.decode(errors='replace'))
            """);
    }

    private static (AgentProcess Agent, int Port) StartAgent()
    {
        if (!File.Exists(Gdb))
        {
            Assert.Ignore("skipped: /usr/bin/gdb is not installed (./build.sh deps installs it)");
        }

        AgentProcess agent = AgentProcess.Start("--guest", "demo", "--initial-break", "--listen", "gdb://127.0.0.1:0");
        int port = int.Parse(agent.Listen.Single(l => l.StartsWith("gdb://", StringComparison.Ordinal)).Split(':')[2], System.Globalization.CultureInfo.InvariantCulture);
        return (agent, port);
    }

    [Test]
    public void Gdb_RegistersDisassemblyBreakpointStepiMonitorDetach_Work()
    {
        // Arrange
        (AgentProcess agent, int port) = StartAgent();
        using AgentProcess _ = agent;

        // Act
        string output = RunGdb(port,
        [
            "info registers rip", "x/8i $pc", "monitor u 100000 l 8", $"break *0x{BreakAddress:x}", "continue", "stepi",
            "info registers rip rdx", "monitor r rdx", "info threads", "detach",
        ]);

        // Assert
        Assert.That(output, Does.Contain("rip            0x100000"), output);
        Assert.That(output, Does.Contain($"hit Breakpoint 1, 0x{BreakAddress:x16}"), output);
        Assert.That(output, Does.Contain("rip            0x10001d"), "stepi went one instruction on: " + output);
        Assert.That(output, Does.Contain("rdx            0x3f8"), output);
        Assert.That(output, Does.Contain("rdx=00000000000003f8"), "monitor ran 'r rdx' on the agent: " + output);
        Assert.That(output, Does.Contain("Thread 2"), "one thread per core: " + output);
        Assert.That(output, Does.Contain("detached"), output);

        // x/8i and our u decode the same eight instructions at the same addresses.
        List<string> gdbAddresses = [.. GdbInstruction().Matches(output).Select(m => m.Groups[1].Value.TrimStart('0'))];
        // Our u's lines come before gdb's "Breakpoint 1 at"; the monitor's output is the command's own (not the notice of
        // the halt the guest was in when it ran).
        string beforeBreak = output[..output.IndexOf("Breakpoint 1 at", StringComparison.Ordinal)];
        List<string> ourAddresses = [.. OurInstruction().Matches(beforeBreak).Select(m => m.Groups[1].Value.TrimStart('0'))];
        Assert.That(gdbAddresses.Take(8), Is.EqualTo(ourAddresses).And.Count.EqualTo(8), output);
        Assert.That(output, Does.Not.Contain("initial break").And.Not.Contain("breakpoint hit"), "no halt notices in the monitor's output: " + output);
    }

    [Test]
    public void Gdb_CtrlC_InterruptsARunningGuest()
    {
        (AgentProcess agent, int port) = StartAgent();
        using AgentProcess _ = agent;

        string output = RunGdb(port, ["set debug remote 1", "continue", "set debug remote 0", "info registers rip", "detach"], interruptAfter: "Sending packet: $vCont;c");

        Assert.That(output, Does.Contain("received signal SIGINT"), output);
        Assert.That(output, Does.Match(@"rip\s+0x[0-9a-f]+"), output);
        Assert.That(output, Does.Contain("detached"), output);
    }

    /// <summary>The demo guest's demo!current_pid (written 0 at start, then each process's pid) and demo!banner (read
    /// byte by byte by the banner loop).</summary>
    private static readonly ulong s_currentPid = DemoSymbols.Address("current_pid");
    private static readonly ulong s_banner = DemoSymbols.Address("banner");

    [Test]
    public void Gdb_WriteAndReadWatchpoints_StopAfterTheAccessWithTheChange()
    {
        // Arrange
        (AgentProcess agent, int port) = StartAgent();
        using AgentProcess _ = agent;

        // Act: rwatch on the banner's third byte, then watch on current_pid (its first write stores 0 over 0, which gdb
        // does not report; the second stores pid 1).
        string output = RunGdb(port,
        [
            $"rwatch *(char*)0x{s_banner + 2:x}", "continue", "info registers al", "delete 1",
            $"watch *(long*)0x{s_currentPid:x}", "continue", "info registers rip", "delete 2", "detach",
        ]);

        // Assert
        Assert.That(output, Does.Contain($"Hardware read watchpoint 1: *(char*)0x{s_banner + 2:x}"), output);
        Assert.That(output, Does.Contain("Value = 112 'p'"), "the banner 'HyperDbgRemote ...' has 'p' third: " + output);
        Assert.That(output, Does.Match(@"al\s+0x70\s"), "the read finished before the stop: " + output);
        Assert.That(output, Does.Contain($"Hardware watchpoint 2: *(long*)0x{s_currentPid:x}\r\n\r\nOld value = 0\r\nNew value = 1"), output);
        Assert.That(output, Does.Contain("detached"), output);
    }

    [Test]
    public void Gdb_WatchpointOnUnmappedMemory_IsRefused()
    {
        (AgentProcess agent, int port) = StartAgent();
        using AgentProcess _ = agent;

        string output = RunGdb(port, ["watch *(long*)0x7fff00000000", "continue", "detach"]);

        Assert.That(output, Does.Contain("Could not insert hardware watchpoint").Or.Contain("Could not insert hardware breakpoints"), output);
    }

    /// <summary>The demo's user program runs at USER_VA (0x40000000) in each process's own address space; at the initial
    /// break the kernel's page tables do not map it.</summary>
    private const ulong UserProgram = 0x4000_0000;

    /// <summary>
    /// gdb inserts its breakpoints with Z0 when it resumes, and treats an error reply as "Cannot insert breakpoint",
    /// which stops the <c>continue</c>. A breakpoint at an address no page maps yet (code not loaded yet, a process not
    /// started yet) is what gdb's pending breakpoints are for, so the stub accepts it as <c>bp</c> does (the engine's
    /// hook is on the linear address) and the guest stops there once code runs at it.
    /// </summary>
    [Test]
    public void Gdb_BreakpointWhereNothingIsMappedYet_IsAccepted_AndHitOnceTheProcessRunsThere()
    {
        // Arrange
        (AgentProcess agent, int port) = StartAgent();
        using AgentProcess _ = agent;

        // Act
        string output = RunGdb(port,
        [
            $"x/1xb 0x{UserProgram:x}", $"break *0x{UserProgram:x}", "set debug remote 1", "continue", "set debug remote 0",
            "info registers rip cs", "detach",
        ]);

        // Assert: not mapped at the initial break (gdb cannot read it), Z0 answered OK, then the stop in ring 3 there
        Assert.That(output, Does.Contain($"Cannot access memory at address 0x{UserProgram:x}"), output);
        Assert.That(output, Does.Contain($"Sending packet: $Z0,{UserProgram:x},1#").And.Not.Contain("Cannot insert breakpoint"), output);
        string afterZ0 = output[output.IndexOf($"$Z0,{UserProgram:x},1#", StringComparison.Ordinal)..];
        Assert.That(afterZ0[afterZ0.IndexOf("Packet received:", StringComparison.Ordinal)..], Does.StartWith("Packet received: OK"), "the stub's reply to Z0: " + output);
        Assert.That(output, Does.Contain("hit Breakpoint 1, ").And.Contain($"0x{UserProgram:x16} in ?? ()"), "the stop (gdb's remote log may come between its parts): " + output);
        Assert.That(output, Does.Match($@"rip\s+0x{UserProgram:x}\s"), output);
        Assert.That(output, Does.Match(@"cs\s+0x2b\s"), "the user program runs in ring 3: " + output);
        Assert.That(output, Does.Contain("detached"), output);
    }

    [GeneratedRegex(@"(?:=>)?\s+0x([0-9a-f]+):\t")]
    private static partial Regex GdbInstruction();

    [GeneratedRegex(@"^00000000`([0-9a-f]{8}) [0-9a-f]{2}(?: [0-9a-f]{2}){0,14} +[a-z]", RegexOptions.Multiline)]
    private static partial Regex OurInstruction();
}
