// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Wire;
using HyperDbgRemote.Commands;
using HyperDbgRemote.Commands.Meta;
using HyperDbgRemote.Host;
using HyperDbgRemote.Host.Console;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Guests;

if (!HostOptions.TryParse(args, out HostOptions options, out string? error))
{
    if (!string.IsNullOrEmpty(error))
    {
        Console.Error.WriteLine($"hyperdbg: {error}");
    }

    Console.Error.WriteLine(HostOptions.Usage);
    return string.IsNullOrEmpty(error) ? 0 : 2;
}

var output = new HostOutput(Console.Out, Console.Error, options.Json, colour: HostOutput.ConsoleWantsColour());
await using var session = new DebugSession(output) { HaltWait = TimeSpan.FromSeconds(options.WaitSeconds), RequestTimeout = TimeSpan.FromSeconds(options.TimeoutSeconds) };
var runner = new CommandRunner(session, output, interactive: !options.NonInteractive);
try
{
    if (options.Connect is not null)
    {
        await session.AttachAsync(await ConnectCommand.Open(options.Connect, options.Token, options.TlsCa));
    }
    else if (options.Local)
    {
        await session.AttachAsync(InProcessConnection.Start(options.Guest, options.Cores, options.MemoryMiB, options.InitialBreak, options.MaxExecutionCount, options.MaxEvalExecutionCount, panicHalt: !options.NoPanicHalt));
    }
}
catch (Exception ex) when (ex is GuestImageException or ConnectionException or CpuEngineUnavailableException or ArgumentException)
{
    Console.Error.WriteLine($"hyperdbg: {ex.Message}");
    return ex is CpuEngineUnavailableException ? 3 : 2;
}

// Ctrl+C: interrupts a command that waits (a long ?, print or .script: the agent stops the script; a request to a
// frozen agent), and breaks in while the guest runs. With -c or --script it also stops a command about to start.
// While the link is lost and reconnecting, it returns to the prompt (q quits).
var interrupted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    if (session.Connection is not null && session.Halt is null && !runner.IsRunning && !session.IsReconnecting)
    {
        _ = runner.RunAsync("pause");
        return;
    }

    if (runner.IsRunning && session.Connection is IBreakInSender link)
    {
        // The framed link carries the interruption as its break-in byte (the agent cancels the request it is
        // handling); gRPC and the embedded agent see the request's cancellation.
        _ = link.TrySendBreakIn();
    }

    runner.Interrupt(evenIfIdle: options.NonInteractive);
    interrupted.TrySetResult();
};

if (options.NonInteractive)
{
    foreach (string command in options.Commands)
    {
        if (!options.Json)
        {
            output.Line(session.Prompt + command);
        }

        if (!await runner.RunAsync(command))
        {
            return 1;
        }
    }

    if (options.Script is string script)
    {
        string line = ".script \"" + script + "\"" + string.Concat(options.ScriptArgs.Select(a => " \"" + a + "\""));
        if (!await runner.RunAsync(line))
        {
            return 1;
        }
    }

    return 0;
}

// Interactive: the prompt shows when not connected, halted, or reconnecting; while the guest runs, Ctrl+C breaks in,
// and while a command waits, Ctrl+C cancels it. A lost link returns to the prompt (q quits) while it reconnects.
var editor = new LineEditor();
while (true)
{
    if (session.Connection is not null && session.Halt is null && !session.GuestStopped && !session.IsReconnecting)
    {
        try
        {
            await Task.WhenAny(session.WaitForHaltAsync(Timeout.InfiniteTimeSpan), interrupted.Task);
        }
        catch (HyperDbgRemote.Commands.Parsing.CommandException)
        {
        }

        interrupted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    string? line = editor.ReadLine(session.Prompt);
    while (line is not null && HyperDbgRemote.Commands.Parsing.Tokenizer.IsIncomplete(line))
    {
        string? more = editor.ReadLine("> ");
        if (more is null)
        {
            break;
        }

        line += "\n" + more;
    }

    if (line is null || line.Trim() is "q" or "exit" or "quit")
    {
        return 0;
    }

    editor.Remember(line);
    await runner.RunAsync(line);
}
