// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// A core's thread: it takes the VM's run baton, the initial break if any, then runs the core's execution context in
/// one long run per stretch between HLTs. A core stopped at HLT sleeps until an event is injected into it or, with IF
/// set, its INTR rises (it takes the event with the return address after its HLT), or the VM stops. A fault ends the VM with the core's report.
/// </summary>
internal sealed class CoreThread
{
    /// <summary>#UD.</summary>
    private const int InvalidOpcode = 6;

    [ThreadStatic]
    private static bool s_isCore;

    private readonly Vcpu _core;
    private readonly VirtualMachine _vm;
    private Thread? _thread;

    public CoreThread(Vcpu core)
    {
        _core = core;
        _vm = core.Machine;
    }

    /// <summary>True on a core's own thread (exit handlers, devices).</summary>
    public static bool IsCurrentThreadACore => s_isCore;

    public void Start()
    {
        _thread = new Thread(Main) { IsBackground = true, Name = $"vcpu{_core.Index}" };
        _thread.Start();
    }

    public void Join() => _thread?.Join();

    private void Main()
    {
        s_isCore = true;
        IExecutionContext context = _core.Context;
        _vm.Clock?.WatchStallsOfThisThread(() => context.BlocksExecuted); // its stalls are no guest time
        ulong begin = _core.LinearStart;
        bool started;
        if (_core.WaitsForStartup)
        {
            // An application processor: wait-for-SIPI until a start-up IPI gives it an address (SDM Vol. 3A 9.4).
            ulong? startup = _vm.TakeInitAndStartup(_core, begin);
            started = startup is not null;
            begin = startup ?? begin;
        }
        else
        {
            started = _vm.AcquireBaton(_core);
        }

        if (!started)
        {
            _core.State = CoreState.Stopped;
            _vm.CoreExited(_core, null);
            return;
        }

        if (_vm.TakeInitialBreak())
        {
            _core.Debug.Site = DebugSite.BeforeRun;
            _vm.Halt(_core, HaltReason.InitialBreak);
            _core.Debug.Site = DebugSite.InsideInstruction;
            begin = _core.LinearInstructionPointer();
        }

        string? fault = null;
        while (true)
        {
            _core.Debug.BeforeRun();
            _core.SyncTsc();
            _vm.Clock?.RestartStallWatch(); // a wait (HLT, a halt, the start) is no stall
            RunResult result = context.Run(begin);
            if (_vm.StopRequested)
            {
                break;
            }

            if (_core.Fault is not null)
            {
                fault = _core.Fault;
                break;
            }

            if (_core.InitPending)
            {
                // An INIT ended the run (at a block boundary): the core is reset and waits for its start-up IPI.
                if (_vm.TakeInitAndStartup(_core, begin) is not ulong startup)
                {
                    break;
                }

                begin = startup;
                continue;
            }

            if (result.Outcome == RunOutcome.InvalidInstruction)
            {
                // The engine stops at an instruction it cannot execute instead of raising #UD: deliver it (SDM: a
                // fault, RIP at the instruction) and go on.
                _core.DeliverException(InvalidOpcode);
                if (_core.Fault is not null)
                {
                    fault = _core.Fault;
                    break;
                }

                begin = _core.LinearInstructionPointer();
                continue;
            }

            if (result.Outcome != RunOutcome.Ended)
            {
                fault = $"core {_core.Index}: {result.Report}";
                break;
            }

            // HLT: an injected event, or INTR with IF set, is taken now (it wakes the core, returning after the HLT);
            // otherwise the core sleeps until one comes (an injection by another core's exit handler or the debugger,
            // an interrupt request) or the VM stops. A wake-up with nothing to take sends it back to sleep.
            begin = _core.LinearInstructionPointer();
            if (_core.Debug.IsStepping)
            {
                _core.Debug.StepEndedAtHlt();
            }

            bool stopped = false;
            while (true)
            {
                _core.FireDueTimers(); // a timer due by now wakes the core at once
                if (!_vm.IdleUntilWoken(_core))
                {
                    stopped = true;
                    break;
                }

                _vm.Clock?.RestartStallWatch(); // the sleep in HLT is no stall

                if (_core.InitPending)
                {
                    break; // an INIT woke the core: acted on below
                }

                if (_core.HasPendingInjection)
                {
                    _core.DeliverPendingInjection(begin);
                    break;
                }

                if (_core.Interrupts.TryTakeAfterHalt(begin))
                {
                    break;
                }
            }

            if (stopped)
            {
                break;
            }

            if (_core.Fault is not null)
            {
                fault = _core.Fault;
                break;
            }

            begin = _core.LinearInstructionPointer();
            if (_core.InitPending)
            {
                if (_vm.TakeInitAndStartup(_core, begin) is not ulong startup)
                {
                    break;
                }

                begin = startup;
            }
        }

        _core.State = CoreState.Stopped;
        _vm.CoreExited(_core, fault);
    }
}
