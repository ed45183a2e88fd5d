// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace HyperDbgRemote.Tests.Shared;

/// <summary>A socat pty pair (`socat -d -d pty,raw,echo=0 pty,raw,echo=0`): two connected terminal devices, whose
/// /dev/pts paths are parsed from socat's stderr. Shared by the tests and the benchmarks (linked into each).</summary>
internal sealed partial class SocatPtyPair : IDisposable
{
    private readonly Process _process;

    private SocatPtyPair(Process process, string first, string second)
    {
        _process = process;
        First = first;
        Second = second;
    }

    public string First { get; }

    public string Second { get; }

    /// <summary>Starts socat; fails naming the cause when socat is missing or makes no pty pair.</summary>
    public static SocatPtyPair Start() =>
        StartAsync().GetAwaiter().GetResult()
        ?? throw new InvalidOperationException("socat is not installed or made no pty pair (./build.sh deps installs it)");

    /// <summary>Starts socat, or returns null when it is not installed.</summary>
    public static async Task<SocatPtyPair?> StartAsync()
    {
        var info = new ProcessStartInfo("socat", "-d -d pty,raw,echo=0 pty,raw,echo=0") { RedirectStandardError = true, UseShellExecute = false };
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }

        var paths = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (paths.Count < 2)
        {
            string? line = await process.StandardError.ReadLineAsync(timeout.Token);
            if (line is null)
            {
                break;
            }

            Match match = PtyLine().Match(line);
            if (match.Success)
            {
                paths.Add(match.Groups[1].Value);
            }
        }

        if (paths.Count < 2)
        {
            process.Kill();
            process.Dispose();
            return null;
        }

        // Keep draining stderr so socat never blocks on it.
        _ = process.StandardError.BaseStream.CopyToAsync(Stream.Null);
        return new SocatPtyPair(process, paths[0], paths[1]);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(2000);
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"PTY is (/dev/pts/\d+)")]
    private static partial Regex PtyLine();
}
