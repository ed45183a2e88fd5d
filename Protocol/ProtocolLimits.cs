// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Protocol;

/// <summary>
/// The one object of limits on everything a peer controls (STYLE 25, 40): the agent checks every request against it
/// (<see cref="TryValidate"/>, <see cref="TryAdmitEvent"/>, <see cref="TryAdmitOutput"/>) and refuses with
/// <see cref="Status.LimitExceeded"/> and a message naming the limit; the link and gRPC bound messages with it; the
/// debugger checks its own requests against the same values before sending. Init-only; every setter validates and
/// throws <see cref="ArgumentOutOfRangeException"/> naming the property and the bad value.
/// </summary>
public sealed class ProtocolLimits
{
    /// <summary>Default largest memory read or write per request (<c>db ADDRESS l 10000</c>).</summary>
    public const int DefaultMaxMemoryBytes = 64 * 1024;

    /// <summary>Default most instructions per disassembly request.</summary>
    public const int DefaultMaxDisassemblyInstructions = 256;

    /// <summary>Default script size in UTF-8 bytes, the files it includes counted in.</summary>
    public const int DefaultMaxScriptBytes = 64 * 1024;

    /// <summary>Default number of events registered at once.</summary>
    public const int DefaultMaxEvents = 1024;

    /// <summary>Default number of output sources.</summary>
    public const int DefaultMaxOutputs = 64;

    /// <summary>Output sources one event may forward to (HyperDbg: 5, spec 8).</summary>
    public const int DefaultMaxOutputsPerEvent = 5;

    /// <summary>Default largest output of one script run on a halted core (<c>?</c>, <c>print</c>).</summary>
    public const int DefaultMaxEvaluationOutputBytes = 1024 * 1024;

    /// <summary>Default largest message, split into frames on the framed link (16 MiB, as gRPC's).</summary>
    public const int DefaultMaxMessageBytes = 16 * 1024 * 1024;

    /// <summary>Upper bound for the message limit.</summary>
    public const int AbsoluteMaxMessageBytes = 256 * 1024 * 1024;

    /// <summary>Default most connections a byte-stream listener holds at once.</summary>
    public const int DefaultMaxConnections = 64;

    /// <summary>Longest symbol pattern of <c>x</c>, in characters.</summary>
    public const int MaxSymbolPatternLength = 256;

    /// <summary>Most addresses one symbol lookup resolves (<c>u</c> asks for every instruction it shows).</summary>
    public const int MaxSymbolAddresses = DefaultMaxDisassemblyInstructions;

    /// <summary>Most symbols one <c>x</c> lists; more are announced, not sent.</summary>
    public const int MaxSymbolMatches = 1000;

    /// <summary>Default most code breakpoints set at once (<c>bp</c>).</summary>
    public const int DefaultMaxBreakpoints = 1024;

    /// <summary>Most steps one <c>t COUNT</c> request takes (each is a halt and a notification).</summary>
    public const int MaxStepCount = 0x10000;

    /// <summary>Most instructions one <c>gu</c> steps (over calls) looking for the current function's return.</summary>
    public const int MaxGoUpInstructions = 0x100000;

    /// <summary>Most frames <c>k</c> shows.</summary>
    public const int MaxStackFrames = 0x100;

    /// <summary>Default largest GDB remote-protocol packet (payload bytes), announced to gdb as PacketSize.</summary>
    public const int DefaultMaxGdbPacketBytes = 16 * 1024;

    /// <summary>Default time a new connection has to complete its handshake (and token) before it is closed.</summary>
    public static readonly TimeSpan DefaultHandshakeTimeout = TimeSpan.FromSeconds(10);

    private const int MaxCount = 1_000_000;

    private readonly int _maxFramePayload = ProtocolConstants.DefaultMaxFramePayload;
    private readonly int _maxMessageBytes = DefaultMaxMessageBytes;
    private readonly int _maxMemoryBytes = DefaultMaxMemoryBytes;
    private readonly int _maxDisassemblyInstructions = DefaultMaxDisassemblyInstructions;
    private readonly int _maxScriptBytes = DefaultMaxScriptBytes;
    private readonly int _maxBreakpoints = DefaultMaxBreakpoints;
    private readonly int _maxEvents = DefaultMaxEvents;
    private readonly int _maxOutputs = DefaultMaxOutputs;
    private readonly int _maxOutputsPerEvent = DefaultMaxOutputsPerEvent;
    private readonly int _maxEvaluationOutputBytes = DefaultMaxEvaluationOutputBytes;
    private readonly int _maxConnections = DefaultMaxConnections;
    private readonly TimeSpan _handshakeTimeout = DefaultHandshakeTimeout;
    private readonly int _maxGdbPacketBytes = DefaultMaxGdbPacketBytes;

    /// <summary>The defaults.</summary>
    public static ProtocolLimits Default { get; } = new();

    /// <summary>Largest frame payload, <see cref="ProtocolConstants.MinMaxFramePayload"/> .. <see cref="ProtocolConstants.AbsoluteMaxFramePayload"/> (default 64 KiB).</summary>
    public int MaxFramePayload
    {
        get => _maxFramePayload;
        init => _maxFramePayload = Check(value, ProtocolConstants.MinMaxFramePayload, ProtocolConstants.AbsoluteMaxFramePayload);
    }

    /// <summary>
    /// Largest message, 1 KiB .. 256 MiB (default 16 MiB): the framed link splits a larger message than a frame into
    /// fragments and reassembles at most this much; gRPC sends and receives at most this much.
    /// </summary>
    public int MaxMessageBytes
    {
        get => _maxMessageBytes;
        init => _maxMessageBytes = Check(value, 1024, AbsoluteMaxMessageBytes);
    }

    /// <summary>Largest memory read or write per request, 1 .. 1 MiB (default 64 KiB).</summary>
    public int MaxMemoryBytes
    {
        get => _maxMemoryBytes;
        init => _maxMemoryBytes = Check(value, 1, ProtocolConstants.AbsoluteMaxFramePayload);
    }

    /// <summary>Most instructions per disassembly request, 1 .. 65,536 (default 256).</summary>
    public int MaxDisassemblyInstructions
    {
        get => _maxDisassemblyInstructions;
        init => _maxDisassemblyInstructions = Check(value, 1, 65_536);
    }

    /// <summary>Largest script in UTF-8 bytes with the files it includes (names and texts), 1 .. 1 MiB (default 64 KiB).</summary>
    public int MaxScriptBytes
    {
        get => _maxScriptBytes;
        init => _maxScriptBytes = Check(value, 1, ProtocolConstants.AbsoluteMaxFramePayload);
    }

    /// <summary>Most events registered at once, 1 .. 1,000,000.</summary>
    public int MaxEvents
    {
        get => _maxEvents;
        init => _maxEvents = Check(value, 1, MaxCount);
    }

    /// <summary>Most code breakpoints set at once (<c>bp</c>), 1 .. 1,000,000.</summary>
    public int MaxBreakpoints
    {
        get => _maxBreakpoints;
        init => _maxBreakpoints = Check(value, 1, MaxCount);
    }

    /// <summary>Most output sources, 1 .. 1,000,000.</summary>
    public int MaxOutputs
    {
        get => _maxOutputs;
        init => _maxOutputs = Check(value, 1, MaxCount);
    }

    /// <summary>Most output sources named by one event, 1 .. 1,000,000 (default 5 as in HyperDbg).</summary>
    public int MaxOutputsPerEvent
    {
        get => _maxOutputsPerEvent;
        init => _maxOutputsPerEvent = Check(value, 1, MaxCount);
    }

    /// <summary>Largest output of one script run on a halted core, 1 KiB .. 16 MiB (default 1 MiB); the rest is cut with a note.</summary>
    public int MaxEvaluationOutputBytes
    {
        get => _maxEvaluationOutputBytes;
        init => _maxEvaluationOutputBytes = Check(value, 1024, 16 * 1024 * 1024);
    }

    /// <summary>Most connections a byte-stream listener (TCP, pipe) holds at once, 1 .. 10,000 (default 64).</summary>
    public int MaxConnections
    {
        get => _maxConnections;
        init => _maxConnections = Check(value, 1, 10_000);
    }

    /// <summary>Largest GDB remote-protocol packet payload, 256 .. 1 MiB (default 16 KiB): gdb is told it (qSupported
    /// PacketSize) and a longer packet is refused with an error, unread to its end.</summary>
    public int MaxGdbPacketBytes
    {
        get => _maxGdbPacketBytes;
        init => _maxGdbPacketBytes = Check(value, 256, ProtocolConstants.AbsoluteMaxFramePayload);
    }

    /// <summary>How long a connection may take to complete its handshake, 100 ms .. 10 minutes (default 10 s).</summary>
    public TimeSpan HandshakeTimeout
    {
        get => _handshakeTimeout;
        init => _handshakeTimeout = value >= TimeSpan.FromMilliseconds(100) && value <= TimeSpan.FromMinutes(10)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(HandshakeTimeout), value, $"{nameof(HandshakeTimeout)} must be between 100 ms and 10 minutes; got {value}.");
    }

    /// <summary>A copy with the connection settings changed (the other limits kept).</summary>
    public ProtocolLimits With(int? maxConnections = null, TimeSpan? handshakeTimeout = null) => new()
    {
        MaxFramePayload = MaxFramePayload,
        MaxMessageBytes = MaxMessageBytes,
        MaxMemoryBytes = MaxMemoryBytes,
        MaxDisassemblyInstructions = MaxDisassemblyInstructions,
        MaxScriptBytes = MaxScriptBytes,
        MaxEvents = MaxEvents,
        MaxBreakpoints = MaxBreakpoints,
        MaxOutputs = MaxOutputs,
        MaxOutputsPerEvent = MaxOutputsPerEvent,
        MaxEvaluationOutputBytes = MaxEvaluationOutputBytes,
        MaxConnections = maxConnections ?? MaxConnections,
        HandshakeTimeout = handshakeTimeout ?? HandshakeTimeout,
        MaxGdbPacketBytes = MaxGdbPacketBytes,
    };

    /// <summary>Checks a request against the per-request limits (memory length, instruction count, script size, outputs per event).</summary>
    /// <returns>False with an error naming the limit and the bad value.</returns>
    public bool TryValidate(HostToAgent request, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(request);
        error = request.BodyCase switch
        {
            HostToAgent.BodyOneofCase.ReadMemory when request.ReadMemory.Length > MaxMemoryBytes =>
                $"memory read length {request.ReadMemory.Length:x} exceeds the limit of {MaxMemoryBytes:x} bytes per request.",
            HostToAgent.BodyOneofCase.WriteMemory when request.WriteMemory.Data.Length > MaxMemoryBytes =>
                $"memory write length {request.WriteMemory.Data.Length:x} exceeds the limit of {MaxMemoryBytes:x} bytes per request.",
            HostToAgent.BodyOneofCase.Disassemble when request.Disassemble.Count > MaxDisassemblyInstructions =>
                $"{request.Disassemble.Count:x} instructions exceed the limit of {MaxDisassemblyInstructions:x} per request.",
            HostToAgent.BodyOneofCase.EvaluateScript => CheckScript(request.EvaluateScript.Script, request.EvaluateScript.Includes),
            HostToAgent.BodyOneofCase.Breakpoint => CheckScript(request.Breakpoint.Script, request.Breakpoint.ScriptIncludes),
            HostToAgent.BodyOneofCase.RegisterEvent => CheckEvent(request.RegisterEvent.Event),
            HostToAgent.BodyOneofCase.LookupSymbols when request.LookupSymbols.Pattern.Length > MaxSymbolPatternLength =>
                $"the symbol pattern is {request.LookupSymbols.Pattern.Length} characters; the limit is {MaxSymbolPatternLength}.",
            HostToAgent.BodyOneofCase.LookupSymbols when request.LookupSymbols.Addresses.Count > MaxSymbolAddresses =>
                $"{request.LookupSymbols.Addresses.Count} addresses in one symbol lookup; the limit is {MaxSymbolAddresses}.",
            HostToAgent.BodyOneofCase.Step when request.Step.Kind == StepKind.Out && request.Step.Count > MaxGoUpInstructions =>
                $"{request.Step.Count:x} instructions exceed the limit of {MaxGoUpInstructions:x} for 'gu'.",
            HostToAgent.BodyOneofCase.Step when request.Step.Kind != StepKind.Out && request.Step.Count > MaxStepCount =>
                $"{request.Step.Count:x} steps exceed the limit of {MaxStepCount:x} per request.",
            _ => null,
        };
        return error is null;
    }

    /// <summary>Whether one more event may be registered when <paramref name="registered"/> exist.</summary>
    public bool TryAdmitEvent(int registered, [NotNullWhen(false)] out string? error)
    {
        error = registered >= MaxEvents ? $"{registered} events are registered; the limit is {MaxEvents} (clear some with 'events c')." : null;
        return error is null;
    }

    /// <summary>Whether one more output source may be created when <paramref name="existing"/> exist.</summary>
    public bool TryAdmitOutput(int existing, [NotNullWhen(false)] out string? error)
    {
        error = existing >= MaxOutputs ? $"{existing} output sources exist; the limit is {MaxOutputs}." : null;
        return error is null;
    }

    /// <summary>The script and the files it includes, counted together in UTF-8 bytes.</summary>
    public string? CheckScript(string script, IReadOnlyDictionary<string, string>? includes = null)
    {
        ArgumentNullException.ThrowIfNull(script);
        long size = System.Text.Encoding.UTF8.GetByteCount(script);
        foreach ((string name, string text) in includes ?? new Dictionary<string, string>())
        {
            size += System.Text.Encoding.UTF8.GetByteCount(name) + System.Text.Encoding.UTF8.GetByteCount(text);
        }

        return size > MaxScriptBytes ? $"the script and its includes are {size} bytes; the limit is {MaxScriptBytes} bytes." : null;
    }

    private string? CheckEvent(EventRegistration? registration)
    {
        if (registration is null)
        {
            return "the event registration is missing.";
        }

        if (registration.Outputs.Count > MaxOutputsPerEvent)
        {
            return $"the event names {registration.Outputs.Count} output sources; the limit is {MaxOutputsPerEvent}.";
        }

        return CheckScript(registration.Script, registration.ScriptIncludes);
    }

    private static int Check(int value, int min, int max, [CallerMemberName] string name = "")
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be between {min} and {max}; got {value}.");
        }

        return value;
    }
}
