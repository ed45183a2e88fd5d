// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;

namespace HyperDbgRemote.Host;

/// <summary>The debugger's command line.</summary>
internal sealed class HostOptions
{
    public const string Usage =
        """
        usage: hyperdbg [--local --guest SPEC [--cores N] [--memory MIB] [--no-panic-halt] | --connect URI [--token T] [--tls-ca PEM]]
                        [-c COMMAND]... [--script FILE [ARGS...]] [--json] [--wait SECONDS]
                        [--max-execution-count N] [--max-eval-execution-count N]
          --local           run an agent inside the debugger; the default (with --guest demo) only without --connect,
                            -c and --script: with -c or --script and neither --local, --guest nor --connect the
                            commands start unconnected (as a script that runs .connect or .debug itself)
          --guest SPEC      demo | bios:PATH | flat16:PATH@SEG:OFF | flat64:PATH@ADDR
          --initial-break   with --local: the guest halts before its first instruction (g starts it)
          --no-panic-halt   with --local: a Linux guest whose kernel panics is not halted (by default it halts once
                            the kernel has printed its panic report)
          --connect URI     an agent's listener: grpc://HOST:PORT | grpcs://HOST:PORT (TLS) | grpc+unix:/abs/path.sock |
                            tcp://127.0.0.1:PORT | pipe:NAME (or pipe:/abs/path.sock) | serial:PATH?baud=N
          --token T         the bearer token the agent requires (default: HYPERDBG_TOKEN)
          --tls-ca PEM      trust the agent's TLS certificate when this CA (PEM) signed it, e.g. a self-signed one
                            (grpcs://; also .connect URI [TOKEN] --tls-ca PEM)
          -c COMMAND        run a command (repeatable, in order), then exit
          --script FILE     run a file of commands ( = FILE, ... = ARGS), then exit
          --json            one JSON object per command result and per notification
          --wait SECONDS    how long a scripted command waits for the debuggee to halt (default 10)
          --timeout SECONDS how long a request waits for the agent's answer (default 30; scripts on a halted core get
                            four times as long); a frozen or lost agent is reported, never waited for without end
          --max-execution-count N, --max-eval-execution-count N
                            with --local: the operation limits of event scripts (default 1000000) and of ?, print
                            and r on the halted core (default 0: none; Ctrl+C interrupts), as the agent's options
        exit status: 0 when every command succeeded (or q), 1 at the first failing command (-c, --script), 2 for bad
                     arguments or an agent that cannot be reached or started, 3 when the CPU engine (libunicorn, Unicorn
                     2.1 or later) is missing (--local).
        """;

    public bool Local { get; private set; }

    public string Guest { get; private set; } = "demo";

    public int? Cores { get; private set; }

    /// <summary>Guest RAM in MiB, or null for the guest's default (64 MiB; a Linux guest 256).</summary>
    public int? MemoryMiB { get; private set; }

    public string? Connect { get; private set; }

    public bool InitialBreak { get; private set; }

    /// <summary>--no-panic-halt: a Linux guest's kernel panic does not halt the guest.</summary>
    public bool NoPanicHalt { get; private set; }

    public string? Token { get; private set; } = Environment.GetEnvironmentVariable("HYPERDBG_TOKEN");

    /// <summary>--tls-ca: the PEM file of a CA the agent's TLS certificate may chain to.</summary>
    public string? TlsCa { get; private set; }

    public List<string> Commands { get; } = [];

    public string? Script { get; private set; }

    public List<string> ScriptArgs { get; } = [];

    public bool Json { get; private set; }

    public double WaitSeconds { get; private set; } = 10;

    /// <summary>How long a request waits for the agent's answer.</summary>
    public double TimeoutSeconds { get; private set; } = 30;

    /// <summary>--max-execution-count for the embedded agent (null: HyperDbg's 1,000,000).</summary>
    public long? MaxExecutionCount { get; private set; }

    /// <summary>--max-eval-execution-count for the embedded agent (null: no limit).</summary>
    public long? MaxEvalExecutionCount { get; private set; }

    public bool NonInteractive => Commands.Count > 0 || Script is not null;

    public static bool TryParse(string[] args, out HostOptions options, out string? error)
    {
        options = new HostOptions();
        error = null;
        string? localOption = null;
        for (int i = 0; i < args.Length; i++)
        {
            string? Next() => i + 1 < args.Length ? args[++i] : null;
            switch (args[i])
            {
                case "--local":
                    localOption ??= "--local";
                    options.Local = true;
                    break;
                case "--guest":
                    localOption ??= "--guest";
                    options.Guest = Next() ?? string.Empty;
                    options.Local = true;
                    break;
                case "--cores":
                    localOption ??= "--cores";
                    if (!int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out int cores) || cores < 1 || cores > VmxDriver.VmConfiguration.MaximumCores)
                    {
                        error = $"--cores takes a number from 1 to {VmxDriver.VmConfiguration.MaximumCores}";
                        return false;
                    }

                    options.Cores = cores;
                    break;
                case "--memory":
                    localOption ??= "--memory";
                    if (!int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out int mib) || !VmxDriver.VmConfiguration.IsValidMemoryMiB(mib))
                    {
                        error = VmxDriver.VmConfiguration.MemoryOptionError;
                        return false;
                    }

                    options.MemoryMiB = mib;
                    break;
                case "--initial-break":
                    localOption ??= "--initial-break";
                    options.InitialBreak = true;
                    break;
                case "--no-panic-halt":
                    localOption ??= "--no-panic-halt";
                    options.NoPanicHalt = true;
                    break;
                case HyperDbgRemote.Agent.Events.AgentScripts.EventLimitOption or HyperDbgRemote.Agent.Events.AgentScripts.EvaluationLimitOption:
                    string option = args[i];
                    if (!HyperDbgRemote.Agent.Events.AgentScripts.TryParseLimit(option, Next(), out long limit, out error))
                    {
                        return false;
                    }

                    if (option == HyperDbgRemote.Agent.Events.AgentScripts.EventLimitOption)
                    {
                        options.MaxExecutionCount = limit;
                    }
                    else
                    {
                        options.MaxEvalExecutionCount = limit;
                    }

                    break;
                case "--connect":
                    options.Connect = Next();
                    if (options.Connect is null)
                    {
                        error = "--connect needs the URI of an agent's listener";
                        return false;
                    }

                    break;
                case "--token":
                    options.Token = Next();
                    if (options.Token is null)
                    {
                        error = "--token needs the agent's token";
                        return false;
                    }

                    break;
                case "--tls-ca":
                    options.TlsCa = Next();
                    if (options.TlsCa is null)
                    {
                        error = "--tls-ca needs the PEM file of the CA that signed the agent's certificate";
                        return false;
                    }

                    break;
                case "-c":
                    string? command = Next();
                    if (command is null)
                    {
                        error = "-c needs a command";
                        return false;
                    }

                    options.Commands.Add(command);
                    break;
                case "--script":
                    options.Script = Next();
                    while (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) && args[i + 1] != "-c")
                    {
                        options.ScriptArgs.Add(args[++i]);
                    }

                    break;
                case "--json":
                    options.Json = true;
                    break;
                case "--wait":
                    if (!double.TryParse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture, out double wait) || wait <= 0)
                    {
                        error = "--wait takes a number of seconds";
                        return false;
                    }

                    options.WaitSeconds = wait;
                    break;
                case "--timeout":
                    if (!double.TryParse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture, out double timeout) || timeout <= 0 || timeout > 86400)
                    {
                        error = "--timeout takes a number of seconds from 0 to 86400";
                        return false;
                    }

                    options.TimeoutSeconds = timeout;
                    break;
                case "-h" or "--help":
                    error = string.Empty;
                    return false;
                default:
                    error = $"unknown argument '{args[i]}'";
                    return false;
            }
        }

        if (options.Connect is not null && localOption is not null)
        {
            error = $"--connect attaches to an agent elsewhere; {localOption} is for a guest run inside the debugger (--local)";
            return false;
        }

        if (options.Connect is null && !options.Local && !options.NonInteractive)
        {
            options.Local = true;
        }

        return true;
    }
}
