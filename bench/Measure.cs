// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;

namespace HyperDbgRemote.Bench;

/// <summary>Runs a measurement several times and keeps the median (the machines are noisy).</summary>
internal static class Measure
{
    public const int Runs = 5;

    /// <summary>Median of <paramref name="runs"/> results of <paramref name="once"/> (after one warm-up run).</summary>
    public static double Median(Func<double> once, int runs = Runs) => Interleaved([once], runs)[0];

    /// <summary>
    /// Medians of several measurements taken in alternation, one of each per round (after one warm-up round), so that
    /// a machine whose speed drifts during the run affects them alike.
    /// </summary>
    public static double[] Interleaved(Func<double>[] measurements, int rounds)
    {
        foreach (Func<double> m in measurements)
        {
            m();
        }

        var results = new double[measurements.Length][];
        for (int k = 0; k < measurements.Length; k++)
        {
            results[k] = new double[rounds];
        }

        for (int i = 0; i < rounds; i++)
        {
            for (int k = 0; k < measurements.Length; k++)
            {
                results[k][i] = measurements[k]();
            }
        }

        return [.. results.Select(r =>
        {
            Array.Sort(r);
            return r[rounds / 2];
        })];
    }

    /// <summary>Seconds an action takes.</summary>
    public static double Seconds(Action action)
    {
        long start = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }
}
