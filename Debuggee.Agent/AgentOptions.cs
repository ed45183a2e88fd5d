// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Devices.Serial;
using HyperDbgRemote.VmxDriver.Guests;

namespace HyperDbgRemote.Agent;

/// <summary>The agent's command line.</summary>
internal sealed class AgentOptions
{
    public const string Usage =
        """
        usage: hyperdbg-agent --guest SPEC [--cores N] [--memory MIB] [--comN BACKEND] --listen URI [--listen URI ...]
                              [--token T] [--tls-cert PEM --tls-key PEM] [--log-file PATH] [--log-json]
                              [--script FILE] [--initial-break] [--resume-after S] [--no-panic-halt]
                              [--output-dir DIR] [--allow-output-connections]
                              [--max-connections N] [--handshake-timeout S]
                              [--max-execution-count N] [--max-eval-execution-count N]
               hyperdbg-agent --guest SPEC [--cores N] [--memory MIB] [--comN BACKEND] [--run-seconds S]
                              [--trap all|PORT[,PORT...]]
          --listen URI      serve debuggers (repeatable); prints one JSON line {"ready":...} when listening:
                              grpc://HOST:PORT          gRPC on TCP (TLS with --tls-cert and --tls-key; beyond
                                                        loopback they and a token are required)
                              grpc+unix:/abs/path.sock  gRPC on a Unix socket
                              tcp://127.0.0.1:PORT      the framed link on TCP (loopback only: no TLS)
                              pipe:NAME | pipe:/abs/path.sock
                                                        the framed link on a named pipe or Unix socket
                              serial:PATH?baud=N        the framed link on a serial line (a tty, a pty)
                              gdb://127.0.0.1:PORT      gdb's remote serial protocol (one gdb at a time; loopback only)
          --script FILE     run debugger commands before the guest starts (events, outputs), with no debugger
                            attached; their output goes to standard error; a failing command stops the agent
          --initial-break   halt every core before the guest's first instruction until a debugger continues (g)
          --resume-after S  a guest halted with no debugger connected resumes after S seconds (default: stays halted)
          --no-panic-halt   a Linux guest whose kernel panics is not halted (by default, with System.map, it halts
                            once the kernel has printed its panic report, and waits for a debugger)
          --token T         bearer token hosts must present (or HYPERDBG_TOKEN), at least 16 characters; required
                            beyond loopback, with TLS
          --tls-cert PEM, --tls-key PEM
                            the certificate and key every grpc:// listener serves TLS with (hosts connect to
                            grpcs://; a self-signed one with hyperdbg --tls-ca)
          --output-dir DIR  the one directory where debuggers may create file outputs (output create NAME file
                            FILE.txt); without it file outputs are refused
          --allow-output-connections
                            let debuggers create namedpipe and tcp outputs (connections from this machine)
          --max-connections N
                            most debuggers served at once on each tcp or pipe listener (default 64)
          --handshake-timeout S
                            a connection that has not completed its handshake (and token) in S seconds is closed
                            (default 10)
          --guest SPEC      demo | bios:PATH | flat16:PATH@SEG:OFF | flat64:PATH@ADDR (hex) |
                            linux[:VMLINUZ][,initrd=PATH][,map=System.map][,apic=on|off][,cmdline=TEXT|,append=TEXT]
                            ('linux' alone: the kernel and initramfs ./build.sh deps fetched; apic=on: local
                            APIC, I/O APIC and MP table, the default command line without noapic nolapic) |
                            bios:PATH,kernel=VMLINUZ[,initrd=PATH][,cmdline=TEXT|,append=TEXT] (the BIOS boots the
                            kernel as QEMU's -kernel, through fw_cfg and QEMU's linuxboot_dma.bin)
          --cores N         virtual CPUs, 1 to 16 (default 1; the demo uses 2; a linux guest takes more with apic=on)
          --memory MIB      guest RAM in MiB (default 64; a Linux guest 256)
          --com1 BACKEND    where COM1's line goes, as QEMU's -serial: stdio | file:PATH | pty | unix:PATH |
                            tcp://127.0.0.1:PORT (also --com2, --com3, --com4; each adds that COM port)
          --run-seconds S   run the guest for S seconds, then print what it wrote to COM1 and the debug console and the
                            I/O exits per port (default: until the guest stops)
          --trap PORTS      set the I/O-bitmap bits of these ports (hex) or of all ports on every core
          --max-execution-count N
                            operations one event-script run may execute, counted as HyperDbg counts (default
                            1000000, HyperDbg's MAX_EXECUTION_COUNT)
          --max-eval-execution-count N
                            the same for ?, print and r on the halted core (default 0: no limit; Ctrl+C in the
                            debugger interrupts them)
        exit status: 0 when stopped (SIGTERM, SIGINT) or, without --listen, when the guest stopped; 1 without --listen
                     when the guest's run ended in a fault; 2 for bad arguments, a guest image, COM backend or listener
                     that cannot be used, or a failing --script; 3 when the CPU engine (libunicorn, Unicorn 2.1 or
                     later) is missing.
        """;

    public string Guest { get; private set; } = "demo";

    public int? Cores { get; private set; }

    /// <summary>Guest RAM in MiB, or null for the guest's default.</summary>
    public int? MemoryMiB { get; private set; }

    /// <summary>Serial backends by COM port number (1–4).</summary>
    public Dictionary<int, SerialBackendSpec> ComPorts { get; } = [];

    /// <summary>Guest RAM in bytes: what was asked for, else the guest's default, else 64 MiB.</summary>
    public ulong MemoryBytesFor(IGuestLoader loader) =>
        MemoryMiB is int mib ? (ulong)mib * 1024 * 1024 : loader.DefaultMemoryBytes ?? 64UL * 1024 * 1024;

    public double? RunSeconds { get; private set; }

    public bool TrapAll { get; private set; }

    public List<ushort> TrapPorts { get; } = [];

    public List<string> Listen { get; } = [];

    /// <summary>Shortest bearer token accepted.</summary>
    public const int MinTokenLength = 16;

    public string? Token { get; private set; } = Environment.GetEnvironmentVariable("HYPERDBG_TOKEN") is { Length: > 0 } t ? t : null;

    public string? OutputDirectory { get; private set; }

    public bool AllowOutputConnections { get; private set; }

    /// <summary>The limits, with the connection settings of the command line.</summary>
    public ProtocolLimits Limits { get; private set; } = ProtocolLimits.Default;

    public string? TlsCertificate { get; private set; }

    public string? TlsKey { get; private set; }

    public string? LogFile { get; private set; }

    public bool LogJson { get; private set; }

    public string? ScriptFile { get; private set; }

    public TimeSpan? ResumeAfter { get; private set; }

    public bool InitialBreak { get; private set; }

    /// <summary>--no-panic-halt: a Linux guest's kernel panic does not halt the guest.</summary>
    public bool NoPanicHalt { get; private set; }

    /// <summary>--max-execution-count, or null for HyperDbg's 1,000,000.</summary>
    public long? MaxExecutionCount { get; private set; }

    /// <summary>--max-eval-execution-count, or null for no limit.</summary>
    public long? MaxEvalExecutionCount { get; private set; }

    public static bool TryParse(string[] args, out AgentOptions options, out string? error)
    {
        options = new AgentOptions();
        error = null;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string? Next()
            {
                return i + 1 < args.Length ? args[++i] : null;
            }

            switch (arg)
            {
                case "--guest":
                    options.Guest = Next() ?? string.Empty;
                    if (options.Guest.Length == 0)
                    {
                        error = $"--guest needs a value: {GuestSpec.Syntax}";
                        return false;
                    }

                    break;
                case "--cores":
                    if (!int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out int cores) || cores < 1 || cores > VmConfiguration.MaximumCores)
                    {
                        error = $"--cores takes a number from 1 to {VmConfiguration.MaximumCores}";
                        return false;
                    }

                    options.Cores = cores;
                    break;
                case "--memory":
                    if (!int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out int mib) || !VmConfiguration.IsValidMemoryMiB(mib))
                    {
                        error = VmConfiguration.MemoryOptionError;
                        return false;
                    }

                    options.MemoryMiB = mib;
                    break;
                case "--com1" or "--com2" or "--com3" or "--com4":
                    {
                        int com = arg[^1] - '0';
                        if (!SerialBackendSpec.TryParse(Next(), out SerialBackendSpec? backend, out string? why))
                        {
                            error = $"{arg}: {why}";
                            return false;
                        }

                        if (!options.ComPorts.TryAdd(com, backend))
                        {
                            error = $"{arg} is given twice";
                            return false;
                        }

                        break;
                    }

                case "--run-seconds":
                    if (!double.TryParse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture, out double s) || s <= 0 || s > 3600)
                    {
                        error = "--run-seconds takes a number of seconds from 0 to 3600";
                        return false;
                    }

                    options.RunSeconds = s;
                    break;
                case "--trap":
                    string? ports = Next();
                    if (ports is null)
                    {
                        error = "--trap needs 'all' or a list of hex ports";
                        return false;
                    }

                    if (ports.Equals("all", StringComparison.OrdinalIgnoreCase))
                    {
                        options.TrapAll = true;
                        break;
                    }

                    foreach (string p in ports.Split(','))
                    {
                        if (!ushort.TryParse(p.Trim().Replace("0x", string.Empty, StringComparison.OrdinalIgnoreCase), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ushort port))
                        {
                            error = $"--trap: '{p}' is not a port from 0 to FFFF (hex)";
                            return false;
                        }

                        options.TrapPorts.Add(port);
                    }

                    break;
                case "--listen":
                    string? uri = Next();
                    if (uri is null)
                    {
                        error = "--listen needs an address: " + Wire.ListenUri.Syntax;
                        return false;
                    }

                    options.Listen.Add(uri);
                    break;
                case "--token":
                    options.Token = Next();
                    if (options.Token is null || options.Token.Length < MinTokenLength)
                    {
                        error = $"--token needs a token of at least {MinTokenLength} characters (e.g. from 'openssl rand -hex 16')";
                        return false;
                    }

                    break;
                case "--output-dir":
                    options.OutputDirectory = Next();
                    if (options.OutputDirectory is null || !Directory.Exists(options.OutputDirectory))
                    {
                        error = $"--output-dir needs an existing directory{(options.OutputDirectory is null ? string.Empty : $"; '{options.OutputDirectory}' is not one")}";
                        return false;
                    }

                    break;
                case "--allow-output-connections":
                    options.AllowOutputConnections = true;
                    break;
                case "--max-connections":
                    if (!int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out int connections) || connections < 1 || connections > 10_000)
                    {
                        error = "--max-connections takes a number from 1 to 10000";
                        return false;
                    }

                    options.Limits = options.Limits.With(maxConnections: connections);
                    break;
                case "--handshake-timeout":
                    if (!double.TryParse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture, out double handshake) || handshake < 0.1 || handshake > 600)
                    {
                        error = "--handshake-timeout takes a number of seconds from 0.1 to 600";
                        return false;
                    }

                    options.Limits = options.Limits.With(handshakeTimeout: TimeSpan.FromSeconds(handshake));
                    break;
                case "--tls-cert":
                    options.TlsCertificate = Next();
                    break;
                case "--tls-key":
                    options.TlsKey = Next();
                    break;
                case "--log-file":
                    options.LogFile = Next();
                    break;
                case "--log-json":
                    options.LogJson = true;
                    break;
                case "--resume-after":
                    if (!double.TryParse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture, out double resume) || resume <= 0 || resume > 86400)
                    {
                        error = "--resume-after takes a number of seconds from 0 to 86400";
                        return false;
                    }

                    options.ResumeAfter = TimeSpan.FromSeconds(resume);
                    break;
                case "--initial-break":
                    options.InitialBreak = true;
                    break;
                case "--no-panic-halt":
                    options.NoPanicHalt = true;
                    break;
                case Events.AgentScripts.EventLimitOption or Events.AgentScripts.EvaluationLimitOption:
                    if (!Events.AgentScripts.TryParseLimit(arg, Next(), out long limit, out error))
                    {
                        return false;
                    }

                    if (arg == Events.AgentScripts.EventLimitOption)
                    {
                        options.MaxExecutionCount = limit;
                    }
                    else
                    {
                        options.MaxEvalExecutionCount = limit;
                    }

                    break;
                case "--script":
                    options.ScriptFile = Next();
                    break;
                case "-h" or "--help":
                    error = string.Empty;
                    return false;
                default:
                    error = $"unknown argument '{arg}'";
                    return false;
            }
        }

        if (options.Token is { Length: < MinTokenLength })
        {
            error = $"HYPERDBG_TOKEN must be at least {MinTokenLength} characters";
            return false;
        }

        if (options.ScriptFile is not null && options.Listen.Count == 0)
        {
            error = "--script needs --listen: the agent keeps running the guest for a debugger to attach";
            return false;
        }

        return true;
    }
}
