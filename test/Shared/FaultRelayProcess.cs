// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.
using System.Diagnostics;

namespace HyperDbgRemote.Tests.Shared;

/// <summary>
/// The fault-injecting relay (test/Tools/FaultRelay) as its own process between two terminal devices, usually the far
/// ends of two socat pty pairs: the agent opens the near end of one, the host the near end of the other, and every byte
/// between them crosses the relay. Commands (freeze, thaw, cut, plug) are sent on its standard input and acknowledged.
/// Shared by the tests and the benchmarks (linked into each).
/// </summary>
internal sealed class FaultRelayProcess : IDisposable
{
    private readonly Process _process;

    private FaultRelayProcess(Process process)
    {
        _process = process;
    }

    /// <summary>Starts the relay; <paramref name="options"/> are its fault options (e.g. "--ber", "1e-3").</summary>
    public static FaultRelayProcess Start(string solutionDirectory, string a, string b, params string[] options)
    {
        string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        string dll = Path.Combine(solutionDirectory, "test", "Tools", "FaultRelay", "bin", configuration, "net10.0", "HyperDbgRemote.FaultRelay.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in (string[])[dll, "--a", a, "--b", b, .. options])
        {
            psi.ArgumentList.Add(arg);
        }

        Process p = Process.Start(psi) ?? throw new InvalidOperationException("the fault relay did not start");
        p.ErrorDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        var relay = new FaultRelayProcess(p);
        relay.Expect("ready");
        return relay;
    }

    /// <summary>Sends a command (freeze, thaw, cut, plug) and waits for its acknowledgement.</summary>
    public void Command(string command)
    {
        _process.StandardInput.WriteLine(command);
        _process.StandardInput.Flush();
        Expect("ok " + command);
    }

    /// <summary>The relay's counters as a JSON line.</summary>
    public string Statistics()
    {
        _process.StandardInput.WriteLine("stats");
        _process.StandardInput.Flush();
        string json = ReadLine();
        Expect("ok stats");
        return json;
    }

    private void Expect(string expected)
    {
        string line = ReadLine();
        if (line != expected)
        {
            throw new InvalidOperationException($"the fault relay said '{line}', expected '{expected}'");
        }
    }

    private string ReadLine()
    {
        Task<string?> line = _process.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(30)) || line.Result is null)
        {
            throw new InvalidOperationException("the fault relay did not answer");
        }

        return line.Result;
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
