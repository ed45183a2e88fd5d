// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Wire;

namespace HyperDbgRemote.Agent.Tests;

public sealed class RequestThreadsTests
{
    private static readonly TimeSpan s_deadlock = TimeSpan.FromSeconds(30);

    [Test]
    public async Task Run_AnotherRequestRunsWhileOneNeverEnds_OffTheThreadPool()
    {
        var threads = new RequestThreads();
        using var release = new ManualResetEventSlim();
        using var started = new ManualResetEventSlim();
        Task<bool> blocked = threads.Run(() =>
        {
            started.Set();
            release.Wait();
            return Thread.CurrentThread.IsThreadPoolThread;
        });
        Assert.That(started.Wait(s_deadlock), Is.True);

        bool second = await threads.Run(() => Thread.CurrentThread.IsThreadPoolThread).WaitAsync(s_deadlock);
        Assert.That(blocked.IsCompleted, Is.False, "the first request still runs");
        release.Set();
        Assert.That(await blocked.WaitAsync(s_deadlock), Is.False);
        Assert.That(second, Is.False);
    }

    [Test]
    public void Run_AnExceptionEndsTheRequestsTask()
    {
        var threads = new RequestThreads();
        Assert.ThrowsAsync<InvalidOperationException>(() => threads.Run<int>(() => throw new InvalidOperationException("boom")).WaitAsync(s_deadlock));
    }

    [Test]
    public async Task Run_ReusesIdleThreads_KeepingAtMostMaxIdle()
    {
        var threads = new RequestThreads();
        int count = RequestThreads.MaxIdle + 2;
        using var release = new ManualResetEventSlim();
        using var all = new CountdownEvent(count);
        Task<int>[] busy = [.. Enumerable.Range(0, count).Select(_ => threads.Run(() =>
        {
            all.Signal();
            release.Wait();
            return Environment.CurrentManagedThreadId;
        }))];
        Assert.That(all.Wait(s_deadlock), Is.True, "every request runs at once, none waits for another");
        release.Set();
        int[] ids = await Task.WhenAll(busy).WaitAsync(s_deadlock);
        Assert.That(ids.Distinct().Count(), Is.EqualTo(count));

        // Synchronised on the threads parking (no clock): then the next request takes one of them.
        Assert.That(SpinWait.SpinUntil(() => threads.IdleCount == RequestThreads.MaxIdle, s_deadlock), Is.True);
        int next = await threads.Run(() => Environment.CurrentManagedThreadId).WaitAsync(s_deadlock);
        Assert.That(ids, Does.Contain(next));
        Assert.That(threads.IdleCount, Is.LessThanOrEqualTo(RequestThreads.MaxIdle));
    }
}
