// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.FaultRelay;

/// <summary>What the commands switch: frozen (bytes are held, in order) and cut (bytes are discarded).</summary>
internal sealed class RelayGate
{
    private readonly object _lock = new();
    private TaskCompletionSource _thawed = Thawed();

    public bool IsCut { get; set; }

    public void Freeze()
    {
        lock (_lock)
        {
            if (_thawed.Task.IsCompleted)
            {
                _thawed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    public void Thaw()
    {
        lock (_lock)
        {
            _thawed.TrySetResult();
        }
    }

    public Task WaitWhileFrozenAsync(CancellationToken stop)
    {
        lock (_lock)
        {
            return _thawed.Task.WaitAsync(stop);
        }
    }

    private static TaskCompletionSource Thawed()
    {
        var t = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        t.SetResult();
        return t;
    }
}
