// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;

namespace HyperDbgRemote.Bench;

/// <summary>Runs a measurement several times and keeps the median (the machines are noisy).</summary>
internal static class Measure
{
    public const int Runs = 5;

    /// <summary>Median of <paramref name="runs"/> results of <paramref name="once"/> (after one warm-up run).</summary>
    public static double Median(Func<double> once, int runs = Runs)
    {
        once();
        double[] results = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            results[i] = once();
        }

        Array.Sort(results);
        return results[runs / 2];
    }

    /// <summary>Seconds an action takes.</summary>
    public static double Seconds(Action action)
    {
        long start = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }
}
