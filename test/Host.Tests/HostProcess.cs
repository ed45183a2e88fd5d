// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <summary>A debugger process whose output is followed line by line while it runs, so a test can act when something
/// appears (kill it after its fifth line, thaw a line once it reports the link lost) instead of after a sleep.</summary>
internal sealed class HostProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _streamsOpen = 2;

    private HostProcess(Process process)
    {
        _process = process;
    }

    /// <summary>Starts bin/hyperdbg (or the host assembly of this build) with <paramref name="args"/>.</summary>
    public static HostProcess Start(params string[] args)
    {
        ProcessStartInfo psi = HyperDbgProcess.StartInfo(args);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var host = new HostProcess(p);
        p.OutputDataReceived += (_, e) => host.Add(e.Data);
        p.ErrorDataReceived += (_, e) => host.Add(e.Data);
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return host;
    }

    /// <summary>Every line so far, standard output and error interleaved as they came.</summary>
    public string Output
    {
        get
        {
            lock (_lines)
            {
                return string.Join('\n', _lines);
            }
        }
    }

    public int ExitCode => _process.ExitCode;

    /// <summary>Waits (at most a minute: only a hang fails) until a line contains <paramref name="text"/>.</summary>
    public void WaitForLine(string text) =>
        Eventually.Until(() => { lock (_lines) { return _lines.Exists(l => l.Contains(text, StringComparison.Ordinal)); } }, $"the debugger printed '{text}'. It printed:\n{Output}");

    /// <summary>Waits for the process to end (at most <paramref name="limit"/>) and for all its output.</summary>
    public void WaitForExit(TimeSpan limit)
    {
        if (!_process.WaitForExit(limit))
        {
            _process.Kill(entireProcessTree: true);
            Assert.Fail($"the debugger did not finish within {limit.TotalSeconds:0} s. It printed:\n{Output}");
        }

        _exited.Task.Wait(limit);
    }

    /// <summary>Kills it the way a crash or <c>kill -9</c> does.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
        _exited.Task.Wait(TimeSpan.FromSeconds(30));
    }

    private void Add(string? line)
    {
        if (line is null)
        {
            if (Interlocked.Decrement(ref _streamsOpen) == 0)
            {
                _exited.TrySetResult();
            }

            return;
        }

        lock (_lines)
        {
            _lines.Add(line);
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }
}
