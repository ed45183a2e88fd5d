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

    public CommandRunner(DebugSession session, HostOutput output, bool interactive)
    {
        _session = session;
        _output = output;
        Interactive = interactive;
    }

    public bool Interactive { get; }

    /// <summary>True while a command runs.</summary>
    public bool IsRunning => Volatile.Read(ref _running) is not null;

    private CancellationTokenSource? _running;

    /// <summary>Cancels the command that runs (Ctrl+C): its request stops waiting and it fails with "cancelled".</summary>
    public void CancelCurrent() => Volatile.Read(ref _running)?.Cancel();

    public CommandRegistry Registry => _registry;

    /// <summary>Runs one command; returns false when it failed (the message was printed).</summary>
    public async Task<bool> RunAsync(string line)
    {
        string trimmed = line.Trim();
        if (trimmed.Length == 0)
        {
            return true;
        }

        _output.BeginCommand();
        bool ok = false;
        using var cancellation = new CancellationTokenSource();
        CancellationTokenSource? outer = Interlocked.Exchange(ref _running, cancellation);
        CancellationToken previous = _session.CommandCancellation;
        _session.CommandCancellation = cancellation.Token;
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
        finally
        {
            _session.CommandCancellation = previous;
            Interlocked.Exchange(ref _running, outer);
            _output.EndCommand(trimmed, ok);
        }
    }

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
