// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Execution;

namespace HyperDbgRemote.VmxDriver;

/// <content>
/// INIT and start-up IPIs for an application processor that starts in wait-for-SIPI
/// (<see cref="CoreStartMode.WaitForStartup"/>; SDM Vol. 3A 9.4, "Multiple-Processor (MP) Initialization", and 11.6.1):
/// a STARTUP with vector V starts it in real mode at V &lt;&lt; 12 (<see cref="CoreStartState.ApplyStartup"/>), a STARTUP
/// while it runs is ignored, and an INIT resets it to the power-on state and puts it back into wait-for-SIPI. The
/// messages come from the local APICs (<see cref="Devices.LocalApic.InitRequested"/>,
/// <see cref="Devices.LocalApic.StartupRequested"/>), on the sending core's thread; the core itself acts on them on its
/// own thread (<see cref="CoreThread"/>): an INIT ends its run at the next block boundary or wakes it from HLT.
/// </content>
public sealed partial class Vcpu
{
    /// <summary>An INIT arrived that the core has not acted on yet. Guarded by the VM's gate.</summary>
    private bool _initPending;

    /// <summary>The vector of a start-up IPI accepted in wait-for-SIPI (or after a pending INIT) and not yet acted on;
    /// -1 when none. Guarded by the VM's gate.</summary>
    private int _startupVector = -1;

    /// <summary>True for an application processor that starts in wait-for-SIPI and so takes INIT and start-up IPIs.</summary>
    public bool WaitsForStartup => _start.Mode == CoreStartMode.WaitForStartup;

    /// <summary>Start-up IPIs that started this core.</summary>
    public int Startups { get; private set; }

    /// <summary>INITs that reset this core (and put it back into wait-for-SIPI).</summary>
    public int Inits { get; private set; }

    /// <summary>An INIT is waiting for the core to act on it (read at block boundaries, without the lock).</summary>
    internal bool InitPending => Volatile.Read(ref _initPending);

    /// <summary>
    /// An INIT message (SDM Vol. 3A 11.6.1): a core in wait-for-SIPI stays there; a started one is reset and waits for
    /// a start-up IPI again, once it acted on it (at its next block boundary, or at once from HLT). A core that does
    /// not start in wait-for-SIPI (the bootstrap processor, a guest whose cores all start running) ignores it: its
    /// local APIC alone is reset.
    /// </summary>
    public void ReceiveInit()
    {
        if (!WaitsForStartup)
        {
            return;
        }

        if (_vm.AcceptInit(this))
        {
            Context.RaiseAttention();
        }
    }

    /// <summary>
    /// A start-up IPI with <paramref name="vector"/>: a core in wait-for-SIPI starts at vector &lt;&lt; 12 in real mode; a
    /// core that runs (or already has a start-up waiting) ignores it, as the CPU does (SDM Vol. 3A 9.4.4.1: the second
    /// SIPI of the INIT-SIPI-SIPI sequence is ignored by a processor that started).
    /// </summary>
    public void ReceiveStartup(byte vector)
    {
        if (WaitsForStartup)
        {
            _vm.AcceptStartup(this, vector);
        }
    }

    /// <summary>Under the VM's gate: records an INIT; true when the core runs (or sleeps in HLT) and must act on it.</summary>
    internal bool RecordInitLocked()
    {
        _startupVector = -1;
        if (State == CoreState.WaitingForStartup)
        {
            return false;
        }

        _initPending = true;
        return true;
    }

    /// <summary>Under the VM's gate: records a start-up IPI; true when the core was waiting for one.</summary>
    internal bool RecordStartupLocked(byte vector)
    {
        if (_startupVector >= 0 || (State != CoreState.WaitingForStartup && !_initPending))
        {
            return false; // running, or a start-up is already waiting: ignored
        }

        _startupVector = vector;
        return State == CoreState.WaitingForStartup;
    }

    /// <summary>Under the VM's gate, on the core's thread: takes the INIT to act on (false when none is pending).</summary>
    internal bool TakeInitLocked()
    {
        bool pending = _initPending;
        _initPending = false;
        return pending;
    }

    /// <summary>Under the VM's gate, on the core's thread: takes the start-up vector waiting (-1 when none).</summary>
    internal int TakeStartupLocked()
    {
        int vector = _startupVector;
        _startupVector = -1;
        return vector;
    }

    /// <summary>On the core's thread, after an INIT: the CPU's power-on state, no event pending, the debugger's
    /// per-run state kept.</summary>
    internal void ResetForInit()
    {
        Inits++;
        _events.ClearPendingInjection();
        Context.ResetToInitState();
        DebugRegisters.Reset();
    }

    /// <summary>On the core's thread, when a start-up IPI starts it: real mode at vector &lt;&lt; 12; returns the linear
    /// start address.</summary>
    internal ulong ApplyStartup(byte vector)
    {
        Startups++;
        return CoreStartState.ApplyStartup(Context, vector);
    }
}
