// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;
using System.Text;
using System.Threading.Channels;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.VmxDriver;

namespace HyperDbgRemote.Agent.Gdb;

/// <summary>
/// One gdb client on a byte stream, in all-stop mode: packets are answered one by one; <c>c</c>, <c>s</c> and
/// <c>vCont</c> resume the guest and the answer is the stop reply of the next halt (whoever caused it: a breakpoint,
/// a step, an event, the host debugger, or gdb's own Ctrl-C); when another debugger resumed the guest after gdb's
/// stop, a register access or step breaks in first and a continue waits. A malformed packet gets an error reply and changes
/// nothing; the client leaving (even mid-packet) removes its breakpoints and lets the guest run on.
/// </summary>
internal sealed partial class GdbConnection
{
    /// <summary>Most hardware breakpoints (Z1) a client may set, as x86's four debug-address registers.</summary>
    public const int MaxHardwareBreakpoints = 4;

    /// <summary>Most watchpoints (Z2-Z4) a client may set: memory monitors have no debug-register limit, this bounds
    /// what one client can make the engine hook.</summary>
    public const int MaxWatchpoints = 64;

    /// <summary>Largest watchpoint, in bytes.</summary>
    public const ulong MaxWatchLength = 0x1000;

    private static readonly TimeSpan s_pauseTimeout = TimeSpan.FromSeconds(10);

    private readonly DebuggeeSession _session;
    private readonly int _client;
    private readonly ExecutionControl _control;
    private readonly Func<string, CancellationToken, Task<string>> _monitor;
    private readonly Stream _stream;
    private readonly int _maxPacket;
    private readonly Channel<GdbInput> _inputs = Channel.CreateUnbounded<GdbInput>();
    private readonly Channel<VmHaltInfo?> _halts = Channel.CreateUnbounded<VmHaltInfo?>();
    private readonly HashSet<ulong> _software = [];
    private readonly HashSet<ulong> _hardware = [];
    private readonly Dictionary<(char Type, ulong Address, ulong Length), MemoryMonitor> _watchpoints = [];
    private byte[] _lastReply = [];
    private int _core;
    private GdbRegisters _registers = GdbRegisters.Amd64;
    private bool _errorMessages;
    private bool _done;

    /// <summary>A connection for gdb client number <paramref name="client"/> (its breakpoints are listed under it).</summary>
    public GdbConnection(DebuggeeSession session, ExecutionControl control, Func<string, CancellationToken, Task<string>> monitor, Stream stream, int client)
    {
        _session = session;
        _client = client;
        _control = control;
        _monitor = monitor;
        _stream = stream;
        _maxPacket = session.Limits.MaxGdbPacketBytes;
    }

    /// <summary>Serves the client until it detaches, kills or leaves; then removes its breakpoints (a detach or kill
    /// also resumes the guest; a client that vanished leaves the guest as it was, for the host or the next gdb).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        EventHandler<VmHaltInfo> onHalt = (_, h) => _halts.Writer.TryWrite(h);
        EventHandler<VmStopInfo> onStop = (_, _) => _halts.Writer.TryWrite(null);
        _session.Vm.Halted += onHalt;
        _session.Vm.Stopped += onStop;
        Task reader = ReadLoopAsync(cancellationToken);
        try
        {
            while (!_done && await _inputs.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                GdbInput input = await _inputs.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                await HandleInputAsync(input, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _session.Vm.Halted -= onHalt;
            _session.Vm.Stopped -= onStop;
            Cleanup(resume: false);
            await reader.ConfigureAwait(false);
        }
    }

    private async Task ReadLoopAsync(CancellationToken cancellationToken)
    {
        var decoder = new GdbPacketDecoder(_maxPacket);
        var decoded = new List<GdbInput>();
        byte[] buffer = new byte[4096];
        try
        {
            while (true)
            {
                int n = await _stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    if (decoder.InPacket)
                    {
                        Serilog.Log.Warning("gdb client left in the middle of a packet; its breakpoints are removed");
                    }

                    break;
                }

                decoded.Clear();
                decoder.Feed(buffer.AsSpan(0, n), decoded);
                foreach (GdbInput input in decoded)
                {
                    _inputs.Writer.TryWrite(input);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            _inputs.Writer.TryComplete();
        }
    }

    private async Task HandleInputAsync(GdbInput input, CancellationToken cancellationToken)
    {
        switch (input.Kind)
        {
            case GdbInputKind.Ack:
            case GdbInputKind.Interrupt: // halted already: nothing to interrupt
                return;
            case GdbInputKind.Nack:
                await WriteRawAsync(_lastReply, cancellationToken).ConfigureAwait(false);
                return;
            case GdbInputKind.BadChecksum:
                Serilog.Log.Warning("gdb packet refused: {Error}; asking for it again", input.Error);
                await WriteRawAsync("-"u8.ToArray(), cancellationToken).ConfigureAwait(false);
                return;
            case GdbInputKind.TooLong:
                await WriteRawAsync("+"u8.ToArray(), cancellationToken).ConfigureAwait(false);
                await ReplyAsync(Error(input.Error!), cancellationToken).ConfigureAwait(false);
                return;
        }

        await WriteRawAsync("+"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        string? reply;
        try
        {
            reply = await HandlePacketAsync(input.Payload, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SessionException or FormatException or OverflowException or InvalidOperationException or ArgumentException)
        {
            reply = Error(ex.Message);
        }

        if (reply is not null)
        {
            await ReplyAsync(reply, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Resumes (the caller started the guest) and answers with the next halt's stop reply.</summary>
    private async Task<string?> WaitForStopAsync(CancellationToken cancellationToken)
    {
        Task<bool> halted = _halts.Reader.WaitToReadAsync(cancellationToken).AsTask();
        string? watch = null;
        while (true)
        {
            Task<bool> input = _inputs.Reader.WaitToReadAsync(cancellationToken).AsTask();
            Task first = await Task.WhenAny(halted, input).ConfigureAwait(false);
            if (first == halted)
            {
                _halts.Reader.TryRead(out VmHaltInfo? halt);
                if (halt is { Access: MemoryAccessExit access, Tag: Events.Watchpoint w } && watch is null
                    && access.Matches.FirstOrDefault(m => ReferenceEquals(m.Monitor.Owner, w)) is { Monitor: not null } match
                    && _watchpoints.ContainsValue(match.Monitor))
                {
                    // The access halted before it happened; gdb expects the stop after it (x86 data breakpoints are
                    // traps, and gdb compares a write watchpoint's old and new values): finish the instruction first.
                    string name = w.Kind switch { MemoryAccessKinds.Write => "watch", MemoryAccessKinds.Read => "rwatch", _ => "awatch" };
                    watch = string.Create(CultureInfo.InvariantCulture, $"{name}:{match.Address:x};");
                    _control.Step(halt.Core.Index, cancellationToken);
                    halted = _halts.Reader.WaitToReadAsync(cancellationToken).AsTask();
                    continue;
                }

                return halt is null ? "W00" : StopReply(halt, watch: halt.Reason == HaltReason.Step ? watch : null);
            }

            if (!await input.ConfigureAwait(false))
            {
                return null; // the client left while the guest ran
            }

            GdbInput next = await _inputs.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (next.Kind == GdbInputKind.Interrupt)
            {
                if (await Task.Run(() => _session.Pause(s_pauseTimeout), cancellationToken).ConfigureAwait(false) && !halted.IsCompleted
                    && _session.Vm.CurrentHalt is VmHaltInfo now)
                {
                    return StopReply(now, signal: 2);
                }
            }
            else if (next.Kind == GdbInputKind.Packet)
            {
                await WriteRawAsync("+"u8.ToArray(), cancellationToken).ConfigureAwait(false);
                await ReplyAsync(Error("the target is running: interrupt it first (Ctrl-C)"), cancellationToken).ConfigureAwait(false);
            }
            else if (next.Kind == GdbInputKind.BadChecksum)
            {
                await WriteRawAsync("-"u8.ToArray(), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private void DrainHalts()
    {
        while (_halts.Reader.TryRead(out _))
        {
        }
    }

    private string StopReply(VmHaltInfo halt, int? signal = null, string? watch = null)
    {
        _core = halt.Core.Index;
        int sig = signal ?? (halt.Reason == HaltReason.BreakIn ? 2 : 5);
        return string.Create(CultureInfo.InvariantCulture, $"T{sig:x2}{watch}thread:{halt.Core.Index + 1:x};");
    }

    private string Error(string message)
    {
        Serilog.Log.Information("gdb request refused: {Message}", message);
        return _errorMessages ? "E." + message : "E01";
    }

    private async Task ReplyAsync(string payload, CancellationToken cancellationToken)
    {
        _lastReply = GdbPacketDecoder.Frame(payload);
        await WriteRawAsync(_lastReply, cancellationToken).ConfigureAwait(false);
    }

    private async Task WriteRawAsync(byte[] bytes, CancellationToken cancellationToken)
    {
        try
        {
            await _stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
            await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
            _done = true;
        }
    }

    /// <summary>Removes this client's breakpoints and, when asked, lets a halted guest run on.</summary>
    private void Cleanup(bool resume)
    {
        foreach (MemoryMonitor monitor in _watchpoints.Values)
        {
            _session.Vm.RemoveMemoryMonitor(monitor);
        }

        _watchpoints.Clear();

        // Halted or running, they leave the session's list now (running: the VM's go at the next change).
        _ = _session.Breakpoints.RemoveGdbClient(_client);

        _software.Clear();
        _hardware.Clear();
        if (resume && _session.Vm.IsHalted)
        {
            try
            {
                _control.Continue();
            }
            catch (SessionException)
            {
            }
        }
    }

    private static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    private static string HexText(string text) => Hex(Encoding.UTF8.GetBytes(text));
}
