// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands;
using HyperDbgRemote.Commands.Parsing;

namespace HyperDbgRemote.Commands;

/// <summary>Runs command lines: tokenizes, finds the command, runs it and reports errors without stopping the session.</summary>
internal sealed class CommandRunner
{
    private readonly DebugSession _session;
    private readonly HostOutput _output;
    private readonly CommandRegistry _registry = new();

    // The command line being run and what interrupts it (commands a .script runs share it).
    private CancellationTokenSource? _current;
    private int _nesting;

    // An interruption that came while no command ran, for the next one (non-interactive runs).
    private readonly object _interruptGate = new();
    private bool _pendingInterrupt;

    public CommandRunner(DebugSession session, HostOutput output, bool interactive)
    {
        _session = session;
        _output = output;
        Interactive = interactive;
    }

    public bool Interactive { get; }

    public CommandRegistry Registry => _registry;

    /// <summary>True while a command runs.</summary>
    public bool IsRunning => Volatile.Read(ref _current) is not null;

    /// <summary>Interrupts the command that is running (and the rest of a <c>.script</c> running it); false when none
    /// runs. With <paramref name="evenIfIdle"/> the next command starts interrupted instead (a Ctrl+C that came just
    /// before a scripted command began). Safe from another thread (a Ctrl+C handler).</summary>
    public bool Interrupt(bool evenIfIdle = false)
    {
        CancellationTokenSource? current;
        lock (_interruptGate)
        {
            // Under the gate: a command that starts now either is seen here or sees the pending interrupt.
            current = _current;
            if (current is null)
            {
                _pendingInterrupt |= evenIfIdle;
                return false;
            }
        }

        try
        {
            current.Cancel();
        }
        catch (ObjectDisposedException)
        {
            return false;
        }

        return true;
    }

    /// <summary>Runs one command; returns false when it failed (the message was printed).</summary>
    public async Task<bool> RunAsync(string line)
    {
        string trimmed = line.Trim();
        if (trimmed.Length == 0)
        {
            return true;
        }

        CancellationTokenSource? owned = _nesting == 0 ? new CancellationTokenSource() : null;
        if (owned is not null)
        {
            lock (_interruptGate)
            {
                _current = owned;
                if (_pendingInterrupt)
                {
                    _pendingInterrupt = false;
                    owned.Cancel();
                }
            }
        }

        _nesting++;
        CancellationToken cancellation = _current!.Token;
        _output.BeginCommand();
        bool ok = false;
        CancellationToken previous = _session.CommandCancellation;
        _session.CommandCancellation = cancellation;
        try
        {
            if (Tokenizer.IsIncomplete(trimmed))
            {
                // The prompt reads more lines while a brace is open; a command given whole (-c, --script, a script
                // file's last command) must close its braces, or half a script would run.
                throw new CommandException("the command is incomplete: a '{' is not closed.");
            }

            if (!Tokenizer.TryTokenize(trimmed, out List<Token> tokens, out string? error))
            {
                throw new CommandException(error!);
            }

            if (tokens.Count == 0)
            {
                ok = true;
                return true;
            }

            (string name, List<Token> args) = SplitName(tokens);
            IDebuggerCommand command = _registry.Find(name) ?? throw new CommandException($"unknown command '{name}' (see 'help').");
            var context = new CommandContext
            {
                Session = _session,
                Output = _output,
                Registry = _registry,
                Interactive = Interactive,
                Line = trimmed,
                RunLineAsync = RunAsync,
                Cancellation = cancellation,
            };
            await command.RunAsync(context, args).ConfigureAwait(false);
            ok = true;
            return true;
        }
        catch (CommandException ex)
        {
            _output.Error("err, " + ex.Message);
            return false;
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            _output.Error(Interrupted);
            return false;
        }
        finally
        {
            _session.CommandCancellation = previous;
            _output.EndCommand(trimmed, ok);
            if (--_nesting == 0 && owned is not null)
            {
                Volatile.Write(ref _current, null);
                owned.Dispose();
            }
        }
    }

    /// <summary>What an interrupted command prints.</summary>
    public const string Interrupted = "err, interrupted (Ctrl+C): the agent stopped the command's work (a script on the halted core runs until it ends, Ctrl+C, or the agent's --max-eval-execution-count).";

    /// <summary>The command name and its arguments; <c>?expr</c> and <c>r rax=1</c> forms are split too.</summary>
    private static (string Name, List<Token> Args) SplitName(List<Token> tokens)
    {
        string first = tokens[0].Value;
        if (first.Length > 1 && first[0] == '?')
        {
            return ("?", [new Token(first[1..], false, false), .. tokens.Skip(1)]);
        }

        return (first, tokens.Skip(1).ToList());
    }
}
