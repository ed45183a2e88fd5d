// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using System.Text.Json;

namespace HyperDbgRemote.Tests.Shared;

/// <summary>A real bin/hyperdbg-agent process for end-to-end tests and benchmarks: started with arguments, ready when it
/// prints its JSON ready line, killed on dispose. Shared by the tests and the benchmarks (linked into each).</summary>
internal sealed class AgentProcess : IDisposable
{
    private readonly Process _process;

    private AgentProcess(Process process, string[] listen)
    {
        _process = process;
        Listen = listen;
    }

    public IReadOnlyList<string> Listen { get; }

    /// <summary>The agent's process id.</summary>
    public int Id => _process.Id;

    public static string RepositoryRoot()
    {
        DirectoryInfo? dir = new(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "HyperDbgRemote.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("HyperDbgRemote.sln not found");
    }

    public static string AgentDll() =>
        Path.Combine(RepositoryRoot(), "Debuggee.Agent", "bin", new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name, "net10.0", "HyperDbgRemote.Agent.dll");

    public static AgentProcess Start(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(AgentDll());
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        Process p = Process.Start(psi)!;
        p.ErrorDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        Task<string?> line = p.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(30)) || line.Result is null)
        {
            p.Kill(entireProcessTree: true);
            throw new InvalidOperationException("the agent printed no ready line in 30 s");
        }

        using JsonDocument doc = JsonDocument.Parse(line.Result);
        string[] listen = [.. doc.RootElement.GetProperty("listen").EnumerateArray().Select(e => e.GetString()!)];
        return new AgentProcess(p, listen);
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
