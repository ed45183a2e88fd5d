// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Google.Protobuf;
using HyperDbgRemote.Agent.Events;
using HyperDbgRemote.Agent.Messaging;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.VmxDriver;
using HaltReason = HyperDbgRemote.Protocol.Messages.HaltReason;
using LogLevel = HyperDbgRemote.Protocol.Messages.LogLevel;

namespace HyperDbgRemote.Agent.Wire;

/// <summary>Turns the agent's outgoing messages into wire notifications.</summary>
internal static class Notifications
{
    public static Notification From(AgentMessage message, DebuggeeSession session) => message switch
    {
        ImmediateScriptOutput m => new Notification { ScriptOutput = new ScriptOutputNotification { EventId = (uint)m.EventId, Texts = { m.Text } } },
        BatchedScriptOutput m => new Notification { ScriptOutput = new ScriptOutputNotification { Texts = { m.Texts } } },
        LogMessage m => new Notification { Log = new LogNotification { Level = Level(m.Level), Text = m.Text } },
        DroppedMessages m => new Notification { Dropped = new DroppedMessagesNotification { Count = (ulong)m.Count, Total = (ulong)session.Messages.DroppedTotal } },
        HaltedMessage m => new Notification { Halted = Halted(m, session) },
        RunningMessage => new Notification { Running = new RunningNotification() },
        StoppedMessage m => new Notification { Stopped = Stopped(m) },
        _ => throw new ArgumentOutOfRangeException(nameof(message), message.GetType().Name, "unknown agent message"),
    };

    /// <summary>
    /// The notification as the framed link sends it: split by <see cref="SplitToFit"/>, each batch of script output in
    /// the link's compact form when that is smaller (<see cref="ScriptOutputPacking"/>).
    /// </summary>
    public static IEnumerable<AgentToHost> ForLink(Notification notification, int maxBytes)
    {
        foreach (AgentToHost piece in SplitToFit(notification, maxBytes))
        {
            if (piece.Notification.BodyCase == Notification.BodyOneofCase.ScriptOutput)
            {
                piece.Notification.ScriptOutput = ScriptOutputPacking.Pack(piece.Notification.ScriptOutput);
            }

            yield return piece;
        }
    }

    /// <summary>
    /// The notification as messages of at most <paramref name="maxBytes"/> serialized bytes each: a batch of script
    /// output is split between texts (and a text longer than a frame into pieces); any other notification is one
    /// message (they are far below any frame limit).
    /// </summary>
    public static IEnumerable<AgentToHost> SplitToFit(Notification notification, int maxBytes)
    {
        ArgumentNullException.ThrowIfNull(notification);
        var whole = new AgentToHost { Notification = notification };
        if (whole.CalculateSize() <= maxBytes || notification.BodyCase != Notification.BodyOneofCase.ScriptOutput)
        {
            yield return whole;
            yield break;
        }

        // Room for the texts: the envelope of an empty batch, plus a margin for the length prefixes of the nested messages.
        ScriptOutputNotification source = notification.ScriptOutput;
        const int NestingMargin = 16;
        int envelope = new AgentToHost { Notification = new Notification { ScriptOutput = new ScriptOutputNotification { EventId = source.EventId } } }.CalculateSize() + NestingMargin;
        int room = Math.Max(maxBytes - envelope, 64);
        var current = new ScriptOutputNotification { EventId = source.EventId };
        int used = 0;
        foreach (string text in source.Texts)
        {
            foreach (string part in Pieces(text, room))
            {
                int cost = CodedOutputStream.ComputeStringSize(part) + 1;
                if (used + cost > room && current.Texts.Count > 0)
                {
                    yield return new AgentToHost { Notification = new Notification { ScriptOutput = current } };
                    current = new ScriptOutputNotification { EventId = source.EventId };
                    used = 0;
                }

                current.Texts.Add(part);
                used += cost;
            }
        }

        if (current.Texts.Count > 0)
        {
            yield return new AgentToHost { Notification = new Notification { ScriptOutput = current } };
        }
    }

    /// <summary>A text cut into pieces of at most <paramref name="room"/> UTF-8 bytes (a quarter in characters: the worst case).</summary>
    private static IEnumerable<string> Pieces(string text, int room)
    {
        if (CodedOutputStream.ComputeStringSize(text) + 1 <= room)
        {
            yield return text;
            yield break;
        }

        int chars = Math.Max((room - 8) / 4, 1);
        for (int i = 0; i < text.Length;)
        {
            int n = Math.Min(chars, text.Length - i);
            if (n > 1 && i + n < text.Length && char.IsHighSurrogate(text[i + n - 1]))
            {
                n--; // never split a surrogate pair
            }

            yield return text.Substring(i, n);
            i += n;
        }
    }

    private static StoppedNotification Stopped(StoppedMessage m)
    {
        var n = new StoppedNotification { Reason = m.Reason, Report = m.Report ?? string.Empty };
        if (m.ExitStatus is int status)
        {
            n.ExitStatus = status;
        }

        return n;
    }

    public static HaltedNotification Halted(HaltedMessage m, DebuggeeSession session)
    {
        var n = new HaltedNotification
        {
            Reason = m.Reason switch
            {
                "event" => HaltReason.Event,
                "initial-break" => HaltReason.InitialBreak,
                "breakpoint" => HaltReason.Breakpoint,
                "step" => HaltReason.Step,
                "kernel-panic" => HaltReason.KernelPanic,
                _ => HaltReason.BreakIn,
            },
            Core = (uint)m.Core,
            Stage = m.Stage switch { "pre" => EventStage.Pre, "post" => EventStage.Post, _ => EventStage.Unspecified },
            Rip = m.Rip,
            InstructionBytes = ByteString.CopyFrom(m.InstructionBytes),
            Disassembly = m.Disassembly,
            Registers = new RegisterSet(),
            HaltId = m.HaltId,
        };
        if (m.EventId is int id)
        {
            n.EventId = (uint)id;
        }

        if (m.BreakpointId is int breakpoint)
        {
            n.BreakpointId = (uint)breakpoint;
        }

        if (m.Panic is VmxDriver.KernelPanicReport panic)
        {
            n.PanicMessage = panic.Message;
            n.PanicReportComplete = panic.Complete;
        }

        if (m.Monitor is (ulong context, string access))
        {
            n.Context = context;
            n.Access = access;
        }

        if (m.GuestEvent is (string kind, ulong guestContext))
        {
            n.Context = guestContext;
            n.GuestEvent = kind switch
            {
                "cpuid" => GuestEventKind.Cpuid,
                "exception" => GuestEventKind.Exception,
                "interrupt" => GuestEventKind.Interrupt,
                "syscall" => GuestEventKind.Syscall,
                "sysret" => GuestEventKind.Sysret,
                "rdmsr" => GuestEventKind.MsrRead,
                "wrmsr" => GuestEventKind.MsrWrite,
                "mov to cr" => GuestEventKind.CrWrite,
                "mov dr" => GuestEventKind.DebugRegister,
                "rdtsc" => GuestEventKind.Tsc,
                "rdpmc" => GuestEventKind.Pmc,
                _ => GuestEventKind.Mode,
            };
        }

        if (m.Port is int port)
        {
            n.Port = (uint)port;
        }

        foreach ((string name, ulong value) in m.Registers)
        {
            n.Registers.Values[name] = value;
        }

        return n;
    }

    private static LogLevel Level(EventLogLevel level) => level switch
    {
        EventLogLevel.Information => LogLevel.Information,
        EventLogLevel.Warning => LogLevel.Warning,
        _ => LogLevel.Error,
    };
}
