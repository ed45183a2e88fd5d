// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.
using System.Text.RegularExpressions;

namespace HyperDbgRemote.Tests.Shared;

/// <summary>
/// Makes two Linux console logs of the same kernel, initramfs and command line comparable line by line: line endings
/// and terminal escape sequences go, the firmware's lines before the kernel banner go (QEMU boots through SeaBIOS,
/// we enter the kernel directly), printk timestamps go, and figures that depend on the host and the moment — the TSC
/// frequency, BogoMIPS and lpj, clocksource cycle counts, wall-clock dates, durations — become placeholders.
/// Shared by the tests and the benchmarks (linked into each).
/// </summary>
internal static partial class BootLogNormalizer
{
    /// <summary>The first line of the kernel's own output.</summary>
    public const string KernelBanner = "Linux version ";

    /// <summary>Normalised lines, from the kernel banner on (all lines when there is none).</summary>
    public static IReadOnlyList<string> Normalize(string log)
    {
        ArgumentNullException.ThrowIfNull(log);
        string text = Escape().Replace(log, string.Empty).Replace("\r", string.Empty, StringComparison.Ordinal);
        var lines = new List<string>();
        bool started = !text.Contains(KernelBanner, StringComparison.Ordinal);
        foreach (string raw in text.Split('\n'))
        {
            string line = Timestamp().Replace(raw, string.Empty);
            started |= line.Contains(KernelBanner, StringComparison.Ordinal);
            if (!started)
            {
                continue;
            }

            line = Mhz().Replace(line, "<N> MHz");
            line = BogoMips().Replace(line, "<N> BogoMIPS");
            line = Lpj().Replace(line, "lpj=<N>");
            line = Cycles().Replace(line, "max_cycles: <N>, max_idle_ns: <N> ns");
            line = Date().Replace(line, "<DATE>");
            line = EpochSeconds().Replace(line, "(<N>)");
            line = Duration().Replace(line, "<N> $1");
            line = MarkingStable().Replace(line, "Marking stable (<N>)");
            lines.Add(line.TrimEnd());
        }

        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        return lines;
    }

    [GeneratedRegex(@"\x1b(\[[0-9;?]*[A-Za-z]|[()][A-Za-z0-9]|[A-Za-z=>])")]
    private static partial Regex Escape();

    [GeneratedRegex(@"^\[\s*\d+\.\d+\] ")]
    private static partial Regex Timestamp();

    [GeneratedRegex(@"\d+\.\d+ MHz")]
    private static partial Regex Mhz();

    [GeneratedRegex(@"\d+\.\d+ BogoMIPS")]
    private static partial Regex BogoMips();

    [GeneratedRegex(@"lpj=\d+")]
    private static partial Regex Lpj();

    [GeneratedRegex(@"max_cycles: 0x[0-9a-f]+, max_idle_ns: \d+ ns")]
    private static partial Regex Cycles();

    [GeneratedRegex(@"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")]
    private static partial Regex Date();

    [GeneratedRegex(@"\(\d{9,}\)")]
    private static partial Regex EpochSeconds();

    [GeneratedRegex(@"\b\d+ (usecs|msecs|ms|ns)\b")]
    private static partial Regex Duration();

    [GeneratedRegex(@"Marking stable \([^)]*\)->\([^)]*\)")]
    private static partial Regex MarkingStable();
}
