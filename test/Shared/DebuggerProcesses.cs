// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using System.Text.Json;
namespace HyperDbgRemote.Tests.Shared;

/// <summary>
/// The real processes a user runs, for tests of scripts through the real path: <c>bin/hyperdbg</c> (or the host assembly
/// of this build when ./build.sh has not written the launcher) and <c>bin/hyperdbg-agent</c>, started as children.
/// </summary>
internal static class DebuggerProcesses
{
    /// <summary>Runs the debugger with <paramref name="args"/>; fails the test when it has not finished after
    /// <paramref name="limit"/> (a hang, not a measurement).</summary>
    public static (int Exit, string Out, string Err) RunDebugger(TimeSpan limit, params string[] args)
    {
        using Process p = Process.Start(DebuggerStartInfo(args))!;
        Task<string> err = p.StandardError.ReadToEndAsync();
        Task<string> output = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(limit))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"the debugger did not finish within {limit.TotalSeconds:0} s");
        }

        return (p.ExitCode, output.Result, err.Result);
    }

    /// <summary>Starts the debugger and returns at once; its output is collected line by line.</summary>
    /// <remarks>The child starts with SIGINT's default disposition (<c>env --default-signal=INT</c>): a process inherits
    /// an ignored SIGINT (a non-interactive shell starts its background jobs so, and nohup does), and .NET then leaves
    /// Ctrl+C unhandled, as nohup expects; a test that sends Ctrl+C must not depend on how its runner was started.</remarks>
    public static DebuggerChild StartDebugger(params string[] args)
    {
        ProcessStartInfo psi = DebuggerStartInfo(args);
        psi.ArgumentList.Insert(0, psi.FileName);
        psi.ArgumentList.Insert(0, "--default-signal=INT");
        psi.FileName = "env";
        Process p = Process.Start(psi)!;
        return new DebuggerChild(p);
    }

    /// <summary>How to start the debugger with <paramref name="args"/>, output and errors redirected.</summary>
    public static ProcessStartInfo DebuggerStartInfo(params string[] args) =>
        StartInfo("hyperdbg", Path.Combine("Debugger.Host", "bin", Configuration(), "net10.0", "HyperDbgRemote.Host.dll"), args);

    /// <summary>How to start the agent with <paramref name="args"/>, output and errors redirected.</summary>
    public static ProcessStartInfo AgentStartInfo(params string[] args) =>
        StartInfo("hyperdbg-agent", Path.Combine("Debuggee.Agent", "bin", Configuration(), "net10.0", "HyperDbgRemote.Agent.dll"), args);

    /// <summary>Runs a program to its end with extra environment variables; fails the test when it has not finished
    /// after <paramref name="limit"/> (a hang, not a measurement).</summary>
    public static (int Exit, string Out, string Err) RunToEnd(ProcessStartInfo psi, TimeSpan limit, params (string Name, string Value)[] environment)
    {
        foreach ((string name, string value) in environment)
        {
            psi.Environment[name] = value;
        }

        using Process p = Process.Start(psi)!;
        Task<string> output = p.StandardOutput.ReadToEndAsync();
        Task<string> errors = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(limit))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{Path.GetFileName(psi.FileName)} {string.Join(' ', psi.ArgumentList)} did not finish within {limit.TotalSeconds:0} s");
        }

        return (p.ExitCode, output.Result, errors.Result);
    }

    /// <summary>Starts an agent; returns once it printed its JSON ready line (with the addresses it listens on).</summary>
    public static AgentChild StartAgent(params string[] args)
    {
        Process p = Process.Start(AgentStartInfo(args))!;
        p.ErrorDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        Task<string?> line = p.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(60)) || line.Result is null)
        {
            p.Kill(entireProcessTree: true);
            p.Dispose();
            throw new AssertionException("the agent printed no ready line");
        }

        using JsonDocument doc = JsonDocument.Parse(line.Result);
        string[] listen = [.. doc.RootElement.GetProperty("listen").EnumerateArray().Select(e => e.GetString()!)];
        return new AgentChild(p, listen);
    }

    private static string Configuration() => new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;

    private static ProcessStartInfo StartInfo(string launcherName, string assembly, string[] args)
    {
        string root = ConformanceRoot.SolutionDirectory() ?? throw new AssertionException("HyperDbgRemote.sln not found");
        string launcher = Path.Combine(root, "bin", launcherName);
        ProcessStartInfo psi = File.Exists(launcher)
            ? new ProcessStartInfo(launcher)
            : new ProcessStartInfo("dotnet") { ArgumentList = { Path.Combine(root, assembly) } };
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return psi;
    }

    /// <summary>A running debugger: its output as it comes, SIGINT (what Ctrl+C sends), killed on dispose.</summary>
    internal sealed class DebuggerChild : IDisposable
    {
        private readonly Process _process;
        private readonly List<string> _lines = [];
        private readonly object _lock = new();
        private readonly Task<string> _errors;

        public DebuggerChild(Process process)
        {
            _process = process;
            _process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    lock (_lock)
                    {
                        _lines.Add(e.Data);
                        Monitor.PulseAll(_lock);
                    }
                }
            };
            _process.BeginOutputReadLine();
            _errors = _process.StandardError.ReadToEndAsync();
        }

        /// <summary>Its standard output so far, one line per line.</summary>
        public string Lines
        {
            get
            {
                lock (_lock)
                {
                    return string.Join('\n', _lines);
                }
            }
        }

        /// <summary>Waits until a line of standard output matches (or the limit passes: a hang, not a measurement).</summary>
        public void WaitForLine(Func<string, bool> match, TimeSpan limit)
        {
            lock (_lock)
            {
                int seen = 0;
                while (true)
                {
                    for (; seen < _lines.Count; seen++)
                    {
                        if (match(_lines[seen]))
                        {
                            return;
                        }
                    }

                    if (!Monitor.Wait(_lock, limit))
                    {
                        Assert.Fail($"the debugger printed no such line:\n{string.Join('\n', _lines)}");
                    }
                }
            }
        }

        /// <summary>Sends SIGINT, as Ctrl+C in a terminal does.</summary>
        public void Interrupt()
        {
            using Process kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) } })!;
            kill.WaitForExit();
        }

        /// <summary>Waits for the exit; returns the exit code and everything printed (standard output, then error).</summary>
        public (int Exit, string Output) WaitForExit(TimeSpan limit)
        {
            if (!_process.WaitForExit(limit))
            {
                _process.Kill(entireProcessTree: true);
                Assert.Fail($"the debugger did not finish within {limit.TotalSeconds:0} s");
            }

            _process.WaitForExit();
            lock (_lock)
            {
                return (_process.ExitCode, string.Join('\n', _lines) + "\n" + _errors.Result);
            }
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }

            _process.Dispose();
        }
    }

    /// <summary>A running agent process, killed on dispose.</summary>
    internal sealed class AgentChild(Process process, string[] listen) : IDisposable
    {
        public IReadOnlyList<string> Listen { get; } = listen;

        public bool HasExited => process.HasExited;

        public void Dispose()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }

            process.Dispose();
        }
    }
}
