// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Google.Protobuf;
using HyperDbgRemote.Agent.Events;
using HyperDbgRemote.Agent.Messaging;
using HyperDbgRemote.Agent.Session;
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
            Reason = m.Reason switch { "event" => HaltReason.Event, "initial-break" => HaltReason.InitialBreak, _ => HaltReason.BreakIn },
            Core = (uint)m.Core,
            Stage = m.Stage switch { "pre" => EventStage.Pre, "post" => EventStage.Post, _ => EventStage.Unspecified },
            Rip = m.Rip,
            InstructionBytes = ByteString.CopyFrom(m.InstructionBytes),
            Disassembly = m.Disassembly,
            Registers = new RegisterSet(),
        };
        if (m.EventId is int id)
        {
            n.EventId = (uint)id;
        }

        if (m.Port is int port)
        {
            n.Port = (uint)port;
        }

        if (session.Vm.IsHalted && m.Core < session.Vm.Cores.Count)
        {
            Vcpu core = session.Vm.Cores[m.Core];
            foreach (string name in RegisterNames.Displayed)
            {
                n.Registers.Values[name] = RegisterNames.Read(core, name);
            }
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
