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
        ulong begin = _core.LinearStart;
        if (!_vm.AcquireBaton(_core))
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
        }

        _core.State = CoreState.Stopped;
        _vm.CoreExited(_core, fault);
    }
}
