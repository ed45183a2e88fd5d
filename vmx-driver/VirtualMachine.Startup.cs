// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <content>Application processors in wait-for-SIPI (<see cref="CoreStartMode.WaitForStartup"/>): the scheduler's side
/// of INIT and start-up IPIs (see <c>Vcpu.Startup.cs</c>).</content>
public sealed partial class VirtualMachine
{
    /// <summary>An INIT for <paramref name="core"/>: true when it runs or sleeps in HLT and must act on it (a sleeping
    /// core is woken to do so).</summary>
    internal bool AcceptInit(Vcpu core)
    {
        lock (_gate)
        {
            if (_stopRequested || !core.RecordInitLocked())
            {
                return false;
            }

            if (core.State == CoreState.Idle)
            {
                core.State = CoreState.Running;
                Monitor.PulseAll(_gate);
            }

            return true;
        }
    }

    /// <summary>A start-up IPI for <paramref name="core"/>: a core in wait-for-SIPI becomes runnable (it starts once it
    /// has the baton); otherwise it is ignored, or kept for a core that has an INIT to act on first.</summary>
    internal void AcceptStartup(Vcpu core, byte vector)
    {
        lock (_gate)
        {
            if (!_stopRequested && core.RecordStartupLocked(vector))
            {
                core.State = CoreState.Running;
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>
    /// On the core's thread: acts on a pending INIT (the core is reset and waits for a start-up IPI), then, in
    /// wait-for-SIPI, gives up the baton and sleeps until a start-up IPI comes, and takes the baton again. Returns the
    /// linear address to run from: <paramref name="begin"/> when there was no INIT to act on and the core was not
    /// waiting, the start-up's address otherwise; null when the VM stops first.
    /// </summary>
    internal ulong? TakeInitAndStartup(Vcpu core, ulong begin)
    {
        bool reset;
        lock (_gate)
        {
            reset = core.TakeInitLocked();
        }

        if (reset)
        {
            core.ResetForInit();
        }

        int vector;
        lock (_gate)
        {
            vector = core.TakeStartupLocked();
            if (!reset && vector < 0 && core.State != CoreState.WaitingForStartup)
            {
                return begin;
            }

            if (vector < 0)
            {
                core.State = CoreState.WaitingForStartup;
                if (_batonOwner == core.Index)
                {
                    _batonOwner = NextRunnable(core.Index);
                }

                Monitor.PulseAll(_gate);
                StopIfNothingCanRunLocked();
                while (!_stopRequested && core.State == CoreState.WaitingForStartup)
                {
                    Monitor.Wait(_gate);
                }

                vector = core.TakeStartupLocked();
            }

            if (_stopRequested || vector < 0 || !AcquireBaton(core))
            {
                return null;
            }
        }

        return core.ApplyStartup((byte)vector);
    }

    /// <summary>Under <c>_gate</c>: when every core has ended, or sleeps where nothing can wake it (HLT with IF clear or
    /// without an interrupt controller, wait-for-SIPI), the VM stops: all cores halted.</summary>
    private void StopIfNothingCanRunLocked()
    {
        if (_cores.TrueForAll(c => c.State is CoreState.Stopped or CoreState.WaitingForStartup || (c.State == CoreState.Idle && !c.IdleInterruptible)))
        {
            _pendingStop ??= new VmStopInfo(VmStopReason.AllCoresHalted);
            _stopRequested = true;
            Monitor.PulseAll(_gate);
        }
    }
}
