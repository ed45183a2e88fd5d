// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;
using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands;

/// <summary>
/// The debugger's side of a session: the connection to an agent (remote, or embedded with <c>--local</c>), the
/// debuggee's state as the notifications tell it (halted on which core, running, stopped), and request sending.
/// </summary>
internal sealed class DebugSession : IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly HostOutput _output;
    private IDebuggeeConnection? _connection;
    private CancellationTokenSource? _notificationsStop;
    private Task? _notifications;
    private TaskCompletionSource<HaltedNotification> _nextHalt = NewHaltSource();
    private ulong _nextRequestId = 1;
    private ulong _continuedHaltId; // the newest halt continued from; older halts' late notifications are stale
    private ulong _unannouncedUpToHaltId; // halts up to this one were known at attach and are not printed again

    public DebugSession(HostOutput output)
    {
        _output = output;
    }

    /// <summary>The connection, or null when not connected.</summary>
    public IDebuggeeConnection? Connection => _connection;

    /// <summary>The current halt, or null while running (or not connected).</summary>
    public HaltedNotification? Halt { get; private set; }

    /// <summary>True once the guest's run has ended.</summary>
    public bool GuestStopped { get; private set; }

    /// <summary>The prompt: <c>HyperDbg&gt; </c> when not connected, <c>HyperDbg (reconnecting)&gt; </c> while a lost link is
    /// re-established, <c>0: kHyperDbg&gt; </c> when halted on core 0, none while running.</summary>
    public string Prompt => _connection is null ? "HyperDbg> " : IsReconnecting ? "HyperDbg (reconnecting)> " : Halt is HaltedNotification h ? $"{h.Core:x}: kHyperDbg> " : string.Empty;

    /// <summary>Set by <c>events sc on|off</c>: sent with the next continue, for the halting instruction only.</summary>
    public bool? PendingShortCircuit { get; set; }

    /// <summary>How long a command that needs a halted debuggee waits for the next halt in a script.</summary>
    public TimeSpan HaltWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long any request waits for the agent's answer (<c>--timeout</c>); a script run on a halted core gets
    /// four times as long.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Cancels the command that is running (Ctrl+C while a command waits); set by the command runner.</summary>
    public CancellationToken CommandCancellation { get; set; }

    /// <summary>True while the link to the agent is lost and being re-established.</summary>
    public bool IsReconnecting => _connection is ReconnectingConnection { IsReconnecting: true };

    /// <summary>Completes when the link to the agent is lost (the interactive prompt then returns).</summary>
    public Task ConnectionLostTask => _connectionLost.Task;

    private TaskCompletionSource _connectionLost = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Attaches a connection and starts following its notifications. With <paramref name="announceKnownHalts"/>
    /// false (a one-command session such as gdb's <c>monitor</c>), the halt the guest is in at attach and earlier ones
    /// that arrive late are not printed: the output is the command's own.</summary>
    public async Task AttachAsync(IDebuggeeConnection connection, bool announceKnownHalts = true)
    {
        await DetachAsync().ConfigureAwait(false);
        _connection = connection;
        GuestStopped = false;
        _continuedHaltId = 0; // another agent numbers its halts afresh
        Halt = connection.Handshake.Halted ? connection.Handshake.CurrentHalt : null;
        _unannouncedUpToHaltId = announceKnownHalts ? 0 : Halt?.HaltId ?? 0;
        if (connection is ReconnectingConnection reconnecting)
        {
            reconnecting.ConnectionLost += (_, reason) =>
            {
                lock (_gate)
                {
                    Halt = null;
                }

                _output.Error($"connection to the agent lost: {reason}; reconnecting (q quits)");
                _connectionLost.TrySetResult();
            };
            reconnecting.Reconnected += (_, detail) =>
            {
                HandshakeResponse h = reconnecting.Handshake;
                lock (_gate)
                {
                    _connectionLost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    Halt = h.Halted ? h.CurrentHalt : null;
                }

                _output.Line($"{detail}; the debuggee is {(h.Halted ? "halted" : "running")}");
            };
        }
        _notificationsStop = new CancellationTokenSource();
        CancellationToken token = _notificationsStop.Token;
        _notifications = Task.Run(() => FollowAsync(connection, token));
        HandshakeResponse h = connection.Handshake;
        _output.Line($"connected to {h.AgentName}: {h.Guest.Description}, {h.Guest.Cores} core(s), {h.Guest.MemoryBytes / (1024 * 1024)} MiB; the debuggee is {(h.Halted ? "halted" : "running (pause or Ctrl+C to break in)")}");
    }

    /// <summary>Closes the connection (<c>.debug close</c>).</summary>
    public async Task DetachAsync()
    {
        if (_connection is null)
        {
            return;
        }

        if (_notificationsStop is not null)
        {
            await _notificationsStop.CancelAsync().ConfigureAwait(false);
        }

        if (_notifications is not null)
        {
            try
            {
                await _notifications.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        await _connection.DisposeAsync().ConfigureAwait(false);
        _connection = null;
        Halt = null;
        _notificationsStop?.Dispose();
        _notificationsStop = null;
    }

    private async Task FollowAsync(IDebuggeeConnection connection, CancellationToken token)
    {
        try
        {
            await foreach (Notification n in connection.NotificationsAsync(token).ConfigureAwait(false))
            {
                OnNotification(n);
            }
        }
        catch (ConnectionException ex)
        {
            _output.Error($"connection lost: {ex.Message}");
        }
        catch (Grpc.Core.RpcException ex) when (!token.IsCancellationRequested)
        {
            _output.Error($"connection lost: {ex.Status.Detail}");
        }
    }

    private void OnNotification(Notification n)
    {
        string text = string.Empty;
        switch (n.BodyCase)
        {
            case Notification.BodyOneofCase.Halted:
                // The halt becomes current only after its text is shown (below), so that a command that waits for it
                // prints what follows after it.
                text = DescribeHalt(n.Halted);
                break;
            case Notification.BodyOneofCase.Running:
                Halt = null;
                break;
            case Notification.BodyOneofCase.Stopped:
                GuestStopped = true;
                Halt = null;
                text = $"the guest stopped: {n.Stopped.Reason}{(n.Stopped.HasExitStatus ? $" (exit status {n.Stopped.ExitStatus})" : string.Empty)}{(n.Stopped.Report.Length > 0 ? ": " + n.Stopped.Report : string.Empty)}\n";
                break;
            case Notification.BodyOneofCase.ScriptOutput:
                text = string.Concat(n.ScriptOutput.Texts);
                break;
            case Notification.BodyOneofCase.Log:
                text = $"[agent {n.Log.Level.ToString().ToLowerInvariant()}] {n.Log.Text}\n";
                break;
            case Notification.BodyOneofCase.Dropped:
                text = $"[agent] {n.Dropped.Count} message(s) were dropped (the queue was full); {n.Dropped.Total} in all\n";
                break;
            default:
                break;
        }

        if (n.BodyCase != Notification.BodyOneofCase.Halted || n.Halted.HaltId == 0 || n.Halted.HaltId > _unannouncedUpToHaltId)
        {
            _output.Notification(n, text);
        }

        if (n.BodyCase == Notification.BodyOneofCase.Halted)
        {
            TaskCompletionSource<HaltedNotification> source;
            lock (_gate)
            {
                if (n.Halted.HaltId != 0 && n.Halted.HaltId <= _continuedHaltId)
                {
                    // Already known (from a handshake, pause or step answer) and continued from since: the guest
                    // runs, so this must not become the current halt again.
                    return;
                }

                Halt = n.Halted;
                source = _nextHalt;
                _nextHalt = NewHaltSource();
            }

            source.TrySetResult(n.Halted);
        }
        else if (n.BodyCase == Notification.BodyOneofCase.Stopped)
        {
            // A command waiting for the next halt (a script's 'r' after 'g') learns now that none will come.
            TaskCompletionSource<HaltedNotification> source;
            lock (_gate)
            {
                source = _nextHalt;
                _nextHalt = NewHaltSource();
            }

            source.TrySetException(new CommandException($"the guest stopped ({n.Stopped.Reason}) instead of halting."));
        }
    }

    /// <summary>HyperDbg's break message (spec 4.3, 7.4) and the instruction.</summary>
    public static string DescribeHalt(HaltedNotification h)
    {
        var sb = new StringBuilder();
        sb.Append(h.Reason switch
        {
            HaltReason.Event when h.GuestEvent != GuestEventKind.Unspecified => $"event 0x{h.EventId:x} triggered ({(h.Stage == EventStage.Post ? "post" : "pre")}, {GuestEventText(h.GuestEvent, h.Context)})\n",
            HaltReason.Event when h.HasContext => $"event 0x{h.EventId:x} triggered (pre, {h.Access} at {h.Context >> 32:x8}`{h.Context & 0xFFFFFFFF:x8})\n",
            HaltReason.Event => $"event 0x{h.EventId:x} triggered ({(h.Stage == EventStage.Post ? "post" : "pre")})\n",
            HaltReason.InitialBreak => $"initial break: all cores halted before the first instruction (core {h.Core:x})\n",
            HaltReason.Breakpoint when h.HasBreakpointId => $"breakpoint 0x{h.BreakpointId:x} hit\n",
            HaltReason.Breakpoint => $"breakpoint hit (set by another debugger, core {h.Core:x})\n",
            HaltReason.Step => string.Empty, // HyperDbg's 't' shows only the next instruction
            HaltReason.KernelPanic => $"kernel panic: {h.PanicMessage}{(h.PanicReportComplete ? string.Empty : " (the report did not end in time)")}; the guest is halted (core {h.Core:x}): r, k, db work; g continues\n",
            _ => $"break-in: all cores halted (core {h.Core:x})\n",
        });
        string bytes = string.Join(' ', h.InstructionBytes.Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
        sb.Append($"{h.Rip >> 32:x8}`{h.Rip & 0xFFFFFFFF:x8} {bytes,-24} {h.Disassembly}\n");
        return sb.ToString();
    }

    /// <summary>What a guest event's halt (<c>!cpuid</c> ... <c>!mode</c>) caught.</summary>
    private static string GuestEventText(GuestEventKind kind, ulong context) => kind switch
    {
        GuestEventKind.Cpuid => $"!cpuid, leaf (eax) 0x{context:x}",
        GuestEventKind.Exception => $"!exception, vector 0x{context:x}{(context < (ulong)s_exceptionNames.Length ? $" {s_exceptionNames[context]}" : string.Empty)}",
        GuestEventKind.Interrupt => $"!interrupt, vector 0x{context:x}",
        GuestEventKind.Syscall => $"!syscall, system call (rax) 0x{context:x}",
        GuestEventKind.Sysret => $"!sysret at 0x{context:x}",
        GuestEventKind.MsrRead => $"!msrread, msr (ecx) 0x{context:x}",
        GuestEventKind.MsrWrite => $"!msrwrite, msr (ecx) 0x{context:x}",
        GuestEventKind.CrWrite => $"!crwrite, cr{context:x}",
        GuestEventKind.DebugRegister => "!dr",
        GuestEventKind.Tsc => context == 0 ? "!tsc, rdtsc" : "!tsc, rdtscp",
        GuestEventKind.Pmc => "!pmc",
        _ => context == 3 ? "!mode, entering user mode" : "!mode, entering kernel mode",
    };

    private static readonly string[] s_exceptionNames =
    [
        "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "(coprocessor segment overrun)", "#TS", "#NP", "#SS", "#GP", "#PF", "(reserved)",
        "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
    ];

    private static TaskCompletionSource<HaltedNotification> NewHaltSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>After a continue: the debuggee runs, unless a newer halt has arrived meanwhile.</summary>
    public void MarkRunning(HaltedNotification? continued)
    {
        lock (_gate)
        {
            if (continued is not null)
            {
                _continuedHaltId = Math.Max(_continuedHaltId, continued.HaltId);
            }

            // The same halt may have arrived again meanwhile as another message (its notification after the
            // handshake or a pause answer): an id at or below the continued one is that halt, or an older one.
            if (ReferenceEquals(Halt, continued)
                || (continued is not null && continued.HaltId != 0 && Halt is not null && Halt.HaltId != 0 && Halt.HaltId <= continued.HaltId))
            {
                Halt = null;
            }
        }
    }

    /// <summary>The connection, or an error telling how to connect.</summary>
    public IDebuggeeConnection RequireConnection() =>
        _connection ?? throw new CommandException("not connected to a debuggee: use '.connect grpc://127.0.0.1:PORT', '.debug remote ...' or start with --local.");

    /// <summary>Waits for the debuggee to halt (a script's commands that need a halted debuggee wait for the next break).</summary>
    public async Task<HaltedNotification> WaitForHaltAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        Task<HaltedNotification> next;
        lock (_gate)
        {
            if (Halt is HaltedNotification h)
            {
                return h;
            }

            next = _nextHalt.Task;
        }

        if (GuestStopped)
        {
            throw new CommandException("the guest has stopped.");
        }

        Task lost = ConnectionLostTask;
        Task first;
        try
        {
            first = await Task.WhenAny(next, lost).WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new CommandException($"the debuggee did not halt within {timeout.TotalSeconds:0.#} s (use 'pause' to break in).");
        }

        if (ReferenceEquals(first, lost))
        {
            throw new CommandException("the connection to the agent was lost while waiting for a halt.");
        }

        return await next.ConfigureAwait(false);
    }

    /// <summary>
    /// Sends a request; returns the answer (errors in the answer are the caller's to check). Every request has a
    /// deadline (<see cref="RequestTimeout"/>) and ends with the command (Ctrl+C): a frozen or lost agent is reported,
    /// never waited for without end.
    /// </summary>
    public async Task<AgentToHost> SendAsync(HostToAgent request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        IDebuggeeConnection c = RequireConnection();
        request.RequestId = Interlocked.Increment(ref _nextRequestId);
        TimeSpan limit = request.BodyCase switch
        {
            HostToAgent.BodyOneofCase.EvaluateScript => RequestTimeout * 4,
            HostToAgent.BodyOneofCase.Pause => RequestTimeout + TimeSpan.FromMilliseconds(request.Pause.TimeoutMs),
            _ => RequestTimeout,
        };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, CommandCancellation);
        deadline.CancelAfter(limit);
        try
        {
            AgentToHost answer = await c.SendAsync(request, deadline.Token).ConfigureAwait(false);

            // The answer to an interrupted request (an embedded agent answers the script it stopped): interrupted.
            CommandCancellation.ThrowIfCancellationRequested();
            cancellationToken.ThrowIfCancellationRequested();
            return answer;
        }
        catch (ConnectionException ex)
        {
            throw new CommandException(ex.Message, ex);
        }
        catch (Exception ex) when (ex is OperationCanceledException or Grpc.Core.RpcException { StatusCode: Grpc.Core.StatusCode.Cancelled or Grpc.Core.StatusCode.DeadlineExceeded })
        {
            if (cancellationToken.IsCancellationRequested || CommandCancellation.IsCancellationRequested)
            {
                // Interrupted (Ctrl+C): gRPC reports a call cancelled by the caller as an RpcException; the command
                // runner reports the interruption.
                throw new OperationCanceledException("the request was interrupted", ex, cancellationToken.IsCancellationRequested ? cancellationToken : CommandCancellation);
            }

            throw c is ReconnectingConnection { IsReconnecting: true }
                ? new CommandException($"the link to the agent is lost and was not back within {limit.TotalSeconds:0} s; it keeps reconnecting.")
                : new CommandException($"the agent did not answer within {limit.TotalSeconds:0} s (is it frozen?). Change the limit with --timeout.");
        }
    }

    /// <summary>Throws a <see cref="CommandException"/> with the agent's message unless <paramref name="status"/> is OK.</summary>
    public static void Check(Status status, string message)
    {
        if (status != Status.Ok)
        {
            throw new CommandException(message.Length > 0 ? message : $"the agent refused ({status}).");
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync() => await DetachAsync().ConfigureAwait(false);
}
