// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics.CodeAnalysis;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Protocol;

/// <summary>
/// Limits on everything the peer controls (STYLE 25). Init-only; every setter validates and throws
/// <see cref="ArgumentOutOfRangeException"/> naming the property and the bad value. Requests over a limit are refused
/// with <see cref="Status.LimitExceeded"/> by whoever calls <see cref="TryValidate"/>; frames over
/// <see cref="MaxFramePayload"/> are dropped by the decoder and refused by the sender.
/// </summary>
public sealed class ProtocolLimits
{
    /// <summary>Default memory-read length per request.</summary>
    public const int DefaultMaxMemoryReadLength = 16 * 1024;

    /// <summary>Default script size in bytes (UTF-8).</summary>
    public const int DefaultMaxScriptSize = 16 * 1024;

    /// <summary>Default number of events registered at once.</summary>
    public const int DefaultMaxEvents = 1024;

    /// <summary>Default number of output sources.</summary>
    public const int DefaultMaxOutputs = 64;

    /// <summary>Output sources one event may forward to (HyperDbg: 5, spec 8).</summary>
    public const int DefaultMaxOutputsPerEvent = 5;

    /// <summary>Default largest message, split into frames on the framed link (16 MiB, as gRPC's).</summary>
    public const int DefaultMaxMessageBytes = 16 * 1024 * 1024;

    /// <summary>Upper bound for the message limit.</summary>
    public const int AbsoluteMaxMessageBytes = 256 * 1024 * 1024;

    private const int MaxCount = 1_000_000;

    private readonly int _maxFramePayload = ProtocolConstants.DefaultMaxFramePayload;
    private readonly int _maxMessageBytes = DefaultMaxMessageBytes;
    private readonly int _maxMemoryReadLength = DefaultMaxMemoryReadLength;
    private readonly int _maxScriptSize = DefaultMaxScriptSize;
    private readonly int _maxEvents = DefaultMaxEvents;
    private readonly int _maxOutputs = DefaultMaxOutputs;
    private readonly int _maxOutputsPerEvent = DefaultMaxOutputsPerEvent;

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

    /// <summary>Largest memory read or write per request, 1 .. 1 MiB (a response must also fit a frame).</summary>
    public int MaxMemoryReadLength
    {
        get => _maxMemoryReadLength;
        init => _maxMemoryReadLength = Check(value, 1, ProtocolConstants.AbsoluteMaxFramePayload);
    }

    /// <summary>Largest script source in UTF-8 bytes, 1 .. 1 MiB.</summary>
    public int MaxScriptSize
    {
        get => _maxScriptSize;
        init => _maxScriptSize = Check(value, 1, ProtocolConstants.AbsoluteMaxFramePayload);
    }

    /// <summary>Most events registered at once, 1 .. 1,000,000.</summary>
    public int MaxEvents
    {
        get => _maxEvents;
        init => _maxEvents = Check(value, 1, MaxCount);
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

    /// <summary>Checks a request against the per-request limits (memory length, script size, outputs per event).</summary>
    /// <returns>False with an error naming the limit and the bad value.</returns>
    public bool TryValidate(HostToAgent request, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(request);
        error = request.BodyCase switch
        {
            HostToAgent.BodyOneofCase.ReadMemory when request.ReadMemory.Length > MaxMemoryReadLength =>
                $"memory read length {request.ReadMemory.Length} exceeds the limit of {MaxMemoryReadLength} bytes.",
            HostToAgent.BodyOneofCase.WriteMemory when request.WriteMemory.Data.Length > MaxMemoryReadLength =>
                $"memory write length {request.WriteMemory.Data.Length} exceeds the limit of {MaxMemoryReadLength} bytes.",
            HostToAgent.BodyOneofCase.EvaluateScript => CheckScript(request.EvaluateScript.Script),
            HostToAgent.BodyOneofCase.RegisterEvent => CheckEvent(request.RegisterEvent.Event),
            _ => null,
        };
        return error is null;
    }

    /// <summary>Whether one more event may be registered when <paramref name="registered"/> exist.</summary>
    public bool TryAdmitEvent(int registered, [NotNullWhen(false)] out string? error)
    {
        error = registered >= MaxEvents ? $"{registered} events are registered; the limit is {MaxEvents}." : null;
        return error is null;
    }

    /// <summary>Whether one more output source may be created when <paramref name="existing"/> exist.</summary>
    public bool TryAdmitOutput(int existing, [NotNullWhen(false)] out string? error)
    {
        error = existing >= MaxOutputs ? $"{existing} output sources exist; the limit is {MaxOutputs}." : null;
        return error is null;
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

        return CheckScript(registration.Script);
    }

    private string? CheckScript(string script)
    {
        int size = System.Text.Encoding.UTF8.GetByteCount(script);
        return size > MaxScriptSize ? $"script size {size} bytes exceeds the limit of {MaxScriptSize} bytes." : null;
    }

    private static int Check(int value, int min, int max, [System.Runtime.CompilerServices.CallerMemberName] string name = "")
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be between {min} and {max}; got {value}.");
        }

        return value;
    }
}
