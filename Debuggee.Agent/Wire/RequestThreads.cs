// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Agent.Wire;

/// <summary>
/// Dedicated threads for the host's requests, kept off the shared thread pool (a request may run for as long as its
/// host lets it) and reused: a request takes an idle thread, or starts a new one when every thread is busy, so requests
/// never wait for each other. Starting a thread for every request (<see cref="TaskCreationOptions.LongRunning"/>) cost
/// about 1 ms a request on the shared 2-core machine, most of a single step's round trip (docs/BENCHMARKS.md).
/// </summary>
internal sealed class RequestThreads
{
    /// <summary>Most threads kept waiting for work; a thread finishing when this many wait ends.</summary>
    public const int MaxIdle = 4;

    private readonly Lock _lock = new();
    private readonly Stack<Worker> _idle = new();

    /// <summary>The agent's request threads (every dispatcher shares them, as they shared the thread pool).</summary>
    public static RequestThreads Shared { get; } = new();

    /// <summary>Threads waiting for work (at most <see cref="MaxIdle"/>).</summary>
    public int IdleCount
    {
        get
        {
            lock (_lock)
            {
                return _idle.Count;
            }
        }
    }

    /// <summary>Runs <paramref name="work"/> on a request thread at once; its result (or exception) completes the task,
    /// whose continuations run on the thread pool, never on the request thread.</summary>
    public Task<T> Run<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Item()
        {
            try
            {
                result.SetResult(work());
            }
#pragma warning disable CA1031 // Not swallowed: the exception goes to the request's task, whose owner observes it.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                result.SetException(ex);
            }
        }

        Worker? worker;
        lock (_lock)
        {
            _idle.TryPop(out worker);
        }

        if (worker is null)
        {
            new Worker(this, Item).Start();
        }
        else
        {
            worker.Post(Item);
        }

        return result.Task;
    }

    /// <summary>Parks a worker that finished its item; false when enough are idle already (the worker ends).</summary>
    private bool Park(Worker worker)
    {
        lock (_lock)
        {
            if (_idle.Count >= MaxIdle)
            {
                return false;
            }

            _idle.Push(worker);
            return true;
        }
    }

    private sealed class Worker : IDisposable
    {
        private readonly RequestThreads _owner;
        private readonly SemaphoreSlim _posted = new(0, 1);
        private Action? _item;

        public Worker(RequestThreads owner, Action first)
        {
            _owner = owner;
            _item = first;
        }

        /// <summary>Called by the worker's own thread as it ends: nothing can post to it any more (it is not idle).</summary>
        public void Dispose() => _posted.Dispose();

        public void Start() => new Thread(Loop) { IsBackground = true, Name = "agent request" }.Start();

        /// <summary>Hands an item to this parked worker (it was taken from the idle stack, so only one poster).</summary>
        public void Post(Action item)
        {
            _item = item;
            _posted.Release();
        }

        private void Loop()
        {
            while (true)
            {
                Action item = _item!;
                _item = null;
                item();
                if (!_owner.Park(this))
                {
                    Dispose();
                    return;
                }

                _posted.Wait();
            }
        }
    }
}
