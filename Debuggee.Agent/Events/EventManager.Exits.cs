// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Sandbox;

namespace HyperDbgRemote.Agent.Events;

/// <content>The exit handler: matching and actions.</content>
internal sealed partial class EventManager
{
    /// <summary>The event that halted the VM, while it is halted by an event.</summary>
    public RegisteredEvent? HaltingEvent { get; private set; }

    /// <inheritdoc/>
    public void OnIoExit(IoExit ioExit) => Dispatch(new IoDispatch(ioExit));

    /// <inheritdoc/>
    public void OnMemoryAccess(MemoryAccessExit access)
    {
        RegisteredEvent? breaking = null;
        object? watchpoint = null;
        GuestProcess? process = null;
        foreach ((MemoryMonitor monitor, ulong address) in access.Matches)
        {
            if (monitor.Owner is Watchpoint)
            {
                watchpoint ??= monitor.Owner;
                continue;
            }

            if (monitor.Owner is not RegisteredEvent e || !e.Enabled || (e.Spec.Core is int core && core != access.Core.Index))
            {
                continue;
            }

            if (!InProcess(e.Spec, access.Core, ref process))
            {
                continue;
            }

            var invocation = new EventInvocation { Event = e, Access = access, AccessAddress = address, Manager = this, ShortCircuit = false };
            if (!RunActions(e, invocation))
            {
                continue;
            }

            if (invocation.ShortCircuit)
            {
                _output.Log(EventLogLevel.Warning, $"event {e.Id:x}: event_sc has no effect on !monitor here (see docs/differences.md).");
            }

            if (breaking is null && (e.Spec.Breaks || invocation.PauseRequested))
            {
                breaking = e;
            }
        }

        if (breaking is not null)
        {
            HaltingEvent = breaking;
            try
            {
                _vm.Halt(access.Core, access, breaking.Id);
            }
            finally
            {
                HaltingEvent = null;
            }
        }
        else if (watchpoint is not null)
        {
            _vm.Halt(access.Core, access, watchpoint);
        }
    }

    /// <inheritdoc/>
    /// <remarks>As <see cref="OnIoExit"/>: the pre stage runs the pre and all events and decides the skip, the post stage
    /// the post and all events.</remarks>
    public void OnGuestEvent(GuestEventExit guestEvent) => Dispatch(new GuestEventDispatch(guestEvent));

    /// <summary>
    /// Runs a breakpoint's script (<c>bp ... script {...}</c>) on the core that reached it, before the instruction
    /// executes; <paramref name="script"/> is the breakpoint's own event shell (not in the list). True when the script
    /// called <c>pause()</c>: the guest halts at the breakpoint.
    /// </summary>
    public bool RunBreakpointScript(RegisteredEvent script, Vcpu core, ulong address, int breakpointId)
    {
        ArgumentNullException.ThrowIfNull(script);
        var invocation = new EventInvocation { Event = script, BreakpointCore = core, AccessAddress = address, Manager = this, ShortCircuit = false };
        Interlocked.Increment(ref script.Triggers);
        if (script.Spec.Script is IEventScript s && s.Run(invocation) is string error)
        {
            Interlocked.Increment(ref script.Failures);
            _output.Log(EventLogLevel.Warning, $"breakpoint {breakpointId:x}: script error: {error}");
        }

        if (invocation.ShortCircuit)
        {
            _output.Log(EventLogLevel.Warning, $"breakpoint {breakpointId:x}: event_sc has no effect on a breakpoint.");
        }

        return invocation.PauseRequested;
    }

    /// <summary>Runs the condition and, when it holds, the script, the custom code and the break (spec 3.1 order).</summary>
    /// <returns>False when the condition did not hold (the event did not trigger).</returns>
    private bool RunActions(RegisteredEvent e, EventInvocation invocation)
    {
        IoEventSpec s = e.Spec;
        if (s.Condition is byte[] condition)
        {
            Span<ulong> regs = stackalloc ulong[CodeSandbox.GuestRegsCount];
            ReadGuestRegs(invocation.Core, regs);
            SandboxResult r;
            lock (_sandbox)
            {
                r = _sandbox.Value.RunCondition(condition, regs, invocation.Context);
            }

            WriteGuestRegs(invocation.Core, regs);
            if (!r.Completed)
            {
                Interlocked.Increment(ref e.Failures);
                _output.Log(EventLogLevel.Warning, $"event {e.Id:x}: condition failed: {r.Error}; the event did not trigger.");
                return false;
            }

            if (r.Rax == 0)
            {
                return false;
            }
        }

        Interlocked.Increment(ref e.Triggers);
        if (s.Script is IEventScript script && script.Run(invocation) is string error)
        {
            Interlocked.Increment(ref e.Failures);
            _output.Log(EventLogLevel.Warning, $"event {e.Id:x}: script error: {error}");
        }

        if (s.Code is byte[] code)
        {
            Span<ulong> regs = stackalloc ulong[CodeSandbox.GuestRegsCount];
            ReadGuestRegs(invocation.Core, regs);
            SandboxResult r;
            lock (_sandbox)
            {
                r = _sandbox.Value.RunCode(code, regs, e.Buffer, invocation.Context);
            }

            WriteGuestRegs(invocation.Core, regs);
            if (!r.Completed)
            {
                Interlocked.Increment(ref e.Failures);
                _output.Log(EventLogLevel.Warning, $"event {e.Id:x}: custom code failed: {r.Error}");
            }
        }

        return true;
    }

    private static void ReadGuestRegs(Vcpu core, Span<ulong> regs)
    {
        int count = core.Is64Bit ? CodeSandbox.GuestRegsCount : 8;
        for (int i = 0; i < count; i++)
        {
            regs[i] = core.ReadRegister((GuestRegister)i);
        }
    }

    private static void WriteGuestRegs(Vcpu core, ReadOnlySpan<ulong> regs)
    {
        int count = core.Is64Bit ? CodeSandbox.GuestRegsCount : 8;
        for (int i = 0; i < count; i++)
        {
            ulong value = core.Is64Bit ? regs[i] : regs[i] & uint.MaxValue;
            if (core.ReadRegister((GuestRegister)i) != value)
            {
                core.WriteRegister((GuestRegister)i, value);
            }
        }
    }

    /// <summary>Text a script printed for an event (printf/print).</summary>
    public void ScriptOutput(RegisteredEvent source, string text) => _output.ScriptOutput(source, text);

    /// <summary>A script's <c>flush()</c>: the batched messages not yet sent are discarded, and the host is told how
    /// many (nothing disappears without a word).</summary>
    public void DiscardPendingOutput()
    {
        int n = _output.DiscardPending();
        if (n > 0)
        {
            _output.Log(EventLogLevel.Information, $"flush(): {n} batched message(s) discarded.");
        }
    }
}
