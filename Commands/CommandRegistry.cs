// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Debugging;
using HyperDbgRemote.Commands.Extension;
using HyperDbgRemote.Commands.Meta;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands;

/// <summary>Every command the debugger offers, by name.</summary>
internal sealed class CommandRegistry
{
    private readonly Dictionary<string, IDebuggerCommand> _byName = new(StringComparer.OrdinalIgnoreCase);

    public CommandRegistry()
    {
        IDebuggerCommand[] all =
        [
            new IoEventCommand(isIn: false), new IoEventCommand(isIn: true), new MonitorCommand(), new EptHookCommand(detour: false), new EptHookCommand(detour: true),
            new GuestEventCommand(GuestEventKind.Cpuid), new GuestEventCommand(GuestEventKind.Exception),
            new GuestEventCommand(GuestEventKind.Interrupt), new GuestEventCommand(GuestEventKind.Syscall), new GuestEventCommand(GuestEventKind.Sysret),
            new InstructionEventCommand(GuestEventKind.MsrRead), new InstructionEventCommand(GuestEventKind.MsrWrite), new InstructionEventCommand(GuestEventKind.CrWrite),
            new InstructionEventCommand(GuestEventKind.DebugRegister), new InstructionEventCommand(GuestEventKind.Tsc), new InstructionEventCommand(GuestEventKind.Pmc),
            new InstructionEventCommand(GuestEventKind.Mode), new EventsCommand(), new OutputCommand(),
            new GoCommand(), new PauseCommand(), new BreakpointCommand(), new BreakpointListCommand(), new BreakpointClearCommand(),
            new BreakpointDisableCommand(), new BreakpointEnableCommand(), StepCommand.Into(), StepCommand.Over(), StepCommand.Instrumentation(), StepCommand.GoUp(), new CallStackCommand(), new RegistersCommand(), new MsrCommand(), new MemoryDisplayCommand(), new MemoryEditCommand(),
            new UnassembleCommand(), new ExamineSymbolsCommand(), new ListNearestCommand(), new EvaluateCommand(), new PrintCommand(), new PteCommand(), new Va2paCommand(), new Pa2vaCommand(),
            new ConnectCommand(), new DebugCommand(), new ScriptFileCommand(), new SleepCommand(), new StatusCommand(), new HelpCommand(),
        ];
        All = all;
        foreach (IDebuggerCommand c in all)
        {
            foreach (string n in c.Names)
            {
                _byName[n] = c;
            }
        }
    }

    /// <summary>Every command, in help order.</summary>
    public IReadOnlyList<IDebuggerCommand> All { get; }

    /// <summary>The command named <paramref name="name"/>, or null.</summary>
    public IDebuggerCommand? Find(string name) => _byName.GetValueOrDefault(name);
}
