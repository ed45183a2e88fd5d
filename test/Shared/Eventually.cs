// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.
namespace HyperDbgRemote.Tests.Shared;

/// <summary>
/// Waits for a condition the system under test makes true by itself (a guest that runs on, a counter that moves), where
/// no event says so. It polls; only a hang fails it (the limit is a minute by default), never a slow machine, so no test
/// depends on how long something takes. Shared by the test projects (linked into each).
/// </summary>
internal static class Eventually
{
    private static readonly TimeSpan s_default = TimeSpan.FromMinutes(1);

    /// <summary>Returns once <paramref name="condition"/> holds; throws <see cref="TimeoutException"/> naming
    /// <paramref name="what"/> when it never does within <paramref name="limit"/>.</summary>
    public static void Until(Func<bool> condition, string what, TimeSpan? limit = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        if (!SpinWait.SpinUntil(condition, limit ?? s_default))
        {
            throw new TimeoutException($"never happened within {(limit ?? s_default).TotalSeconds:0} s: {what}");
        }
    }

    /// <summary>The asynchronous form of <see cref="Until"/>.</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? limit = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > (limit ?? s_default))
            {
                throw new TimeoutException($"never happened within {(limit ?? s_default).TotalSeconds:0} s: {what}");
            }

            await Task.Delay(1).ConfigureAwait(false);
        }
    }
}
