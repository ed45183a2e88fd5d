// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <summary>Runs the debugger as a user does: <c>bin/hyperdbg ARGS</c> (the launcher ./build.sh writes), or the host
/// assembly of this build when the launcher is absent.</summary>
internal static class HyperDbgProcess
{
    private static readonly TimeSpan s_defaultLimit = TimeSpan.FromSeconds(60);

    public static (int Exit, string Out, string Err) Run(params string[] args) => Run(s_defaultLimit, args);

    /// <summary>Runs it; fails the test when it does not finish within <paramref name="limit"/>.</summary>
    public static (int Exit, string Out, string Err) Run(TimeSpan limit, params string[] args)
    {
        ProcessStartInfo psi = StartInfo(args);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        using Process p = Process.Start(psi)!;
        Task<string> err = p.StandardError.ReadToEndAsync();
        Task<string> output = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(limit))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"the debugger did not finish within {limit.TotalSeconds:0} s");
        }

        return (p.ExitCode, output.Result, err.Result);
    }

    /// <summary>How to start the debugger with <paramref name="args"/>.</summary>
    public static ProcessStartInfo StartInfo(params string[] args)
    {
        string root = ConformanceRoot.SolutionDirectory() ?? throw new AssertionException("HyperDbgRemote.sln not found");
        string launcher = Path.Combine(root, "bin", "hyperdbg");
        string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        ProcessStartInfo psi = File.Exists(launcher)
            ? new ProcessStartInfo(launcher)
            : new ProcessStartInfo("dotnet") { ArgumentList = { Path.Combine(root, "Debugger.Host", "bin", configuration, "net10.0", "HyperDbgRemote.Host.dll") } };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return psi;
    }
}
