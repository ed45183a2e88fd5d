// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using System.Globalization;

namespace HyperDbgRemote.Bench;

/// <summary>Memory figures measured in a child process of the harness, so the harness's own memory does not count.</summary>
internal static class ChildProbe
{
    /// <summary>Runs this harness with <paramref name="argument"/> and reads the number it prints.</summary>
    public static double Run(string argument)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true };
        psi.ArgumentList.Add(typeof(ChildProbe).Assembly.Location);
        psi.ArgumentList.Add(argument);
        using Process p = Process.Start(psi)!;
        string text = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        return double.Parse(text, CultureInfo.InvariantCulture);
    }

    /// <summary>This process's resident memory (VmRSS) in MiB.</summary>
    public static double ResidentMiB()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
            }
        }

        return double.NaN;
    }
}
