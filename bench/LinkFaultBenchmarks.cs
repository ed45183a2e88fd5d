// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Bench;

/// <summary>
/// The agent and the serial link under faults, with real processes (issue 9, "Measured"): the agent on one socat pty
/// pair, the host on another, the fault relay process between their far ends; and an agent flooded with idle TCP
/// connections.
/// </summary>
internal static partial class LinkFaultBenchmarks
{
    /// <summary>The demo guest's event: one numbered line per newline it writes to COM1.</summary>
    private const string NumberedLines = "if (@al == 0xa) { .n = .n + 1; printf(\"line %d\\n\", .n); }";

    private static readonly TimeSpan s_window = TimeSpan.FromSeconds(10);

    private static readonly Lazy<(double Faults, double LinesPerSecond)> s_ber = new(() => BerOnceAsync().GetAwaiter().GetResult());

    private static readonly Lazy<(double Held, double ClientOpen, double RssBefore, double RssAfter)> s_idle = new(IdleConnectionsOnce);

    public static IEnumerable<(string Name, Func<double> Run)> All()
    {
        yield return ("link.ber1e3.lost", () => Ber().Faults);
        yield return ("link.ber1e3.lines_per_s", () => Ber().LinesPerSecond);
        yield return ("link.reconnect_s", () => Measure.Median(Reconnect, 3));
        yield return ("agent.max_idle_connections", () => IdleConnections().Held);
        yield return ("agent.max_idle_connections.client_open", () => IdleConnections().ClientOpen);
        yield return ("agent.max_idle_connections.rss_before_mb", () => IdleConnections().RssBefore);
        yield return ("agent.max_idle_connections.rss_after_mb", () => IdleConnections().RssAfter);
    }

    /// <summary>One run of BER 1e-3 for both metrics (a run takes a while; its numbers are kept).</summary>
    private static (double Faults, double LinesPerSecond) Ber() => s_ber.Value;

    /// <summary>Lines lost, duplicated or out of order (their sum) through a relay flipping bits at 1e-3 both ways while
    /// the guest prints for <see cref="s_window"/>, and the lines per second the host received meanwhile.</summary>
    private static async Task<(double Faults, double LinesPerSecond)> BerOnceAsync()
    {
        using SocatPtyPair agentLine = SocatPtyPair.Start();
        using SocatPtyPair hostLine = SocatPtyPair.Start();
        using FaultRelayProcess relay = FaultRelayProcess.Start(BenchPaths.Root(), agentLine.Second, hostLine.Second, "--ber", "1e-3");
        using AgentProcess agent = AgentProcess.Start("--guest", "demo", "--initial-break", "--listen", $"serial:{agentLine.First}?baud=115200");
        await using LinkDebuggeeConnection host = await LinkDebuggeeConnection.ConnectAsync($"serial:{hostLine.First}?baud=115200", timeout: TimeSpan.FromSeconds(60));
        var lines = new List<int>();
        using var cts = new CancellationTokenSource();
        Task reader = ReadLinesAsync(host, lines, cts.Token);
        await BenchAgent.RegisterAsync(host, new EventRegistration { Direction = IoDirection.Out, Port = 0x3F8, Immediate = true, Script = NumberedLines });
        await host.SendAsync(new HostToAgent { Continue = new ContinueRequest() });
        long start = Stopwatch.GetTimestamp();
        await Task.Delay(s_window);
        int received;
        lock (lines)
        {
            received = lines.Count;
        }

        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        AgentToHost pause = await host.SendAsync(new HostToAgent { Pause = new PauseRequest { TimeoutMs = 5000 } });
        if (pause.Pause.Status is not (Status.Ok or Status.AlreadyHalted))
        {
            throw new InvalidOperationException("pause: " + pause.Pause.Message);
        }

        AgentToHost total = await host.SendAsync(new HostToAgent { EvaluateScript = new EvaluateScriptRequest { Script = "printf(\"%d\", .n);" } });
        int n = int.Parse(total.EvaluateScript.Output.Trim(), CultureInfo.InvariantCulture);

        // Everything printed before the pause is on its way: wait until the last line came (or 30 s, then it is lost).
        long deadline = Stopwatch.GetTimestamp() + (30 * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            lock (lines)
            {
                if (lines.Contains(n))
                {
                    break;
                }
            }

            await Task.Delay(50);
        }

        await cts.CancelAsync();
        await reader.ContinueWith(_ => { }, TaskScheduler.Default);
        int[] seen;
        lock (lines)
        {
            seen = [.. lines];
        }

        int lost = n - seen.Distinct().Count(x => x >= 1 && x <= n);
        int duplicated = seen.Length - seen.Distinct().Count();
        int reordered = seen.Zip(seen.Skip(1)).Count(p => p.Second < p.First);
        Console.Error.WriteLine($"bench: BER 1e-3: {n} lines printed, {seen.Length} received, {lost} lost, {duplicated} duplicated, {reordered} out of order; relay {relay.Statistics()}");
        return (lost + duplicated + reordered, received / seconds);
    }

    private static async Task ReadLinesAsync(IDebuggeeConnection host, List<int> lines, CancellationToken ct)
    {
        await foreach (Notification note in host.NotificationsAsync(ct))
        {
            if (note.BodyCase != Notification.BodyOneofCase.ScriptOutput)
            {
                continue;
            }

            foreach (string text in note.ScriptOutput.Texts)
            {
                foreach (Match m in Line().Matches(text))
                {
                    lock (lines)
                    {
                        lines.Add(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
                    }
                }
            }
        }
    }

    /// <summary>Seconds from the line coming back (the relay thawed, after the host noticed the link was lost) to the
    /// next line of output reaching the host, which re-establishes the link by itself.</summary>
    private static double Reconnect() => ReconnectAsync().GetAwaiter().GetResult();

    private static async Task<double> ReconnectAsync()
    {
        using SocatPtyPair agentLine = SocatPtyPair.Start();
        using SocatPtyPair hostLine = SocatPtyPair.Start();
        using FaultRelayProcess relay = FaultRelayProcess.Start(BenchPaths.Root(), agentLine.Second, hostLine.Second);
        using AgentProcess agent = AgentProcess.Start("--guest", "demo", "--initial-break", "--listen", $"serial:{agentLine.First}?baud=115200");
        string uri = $"serial:{hostLine.First}?baud=115200";
        await using ReconnectingConnection host = await ReconnectingConnection.ConnectAsync(async (resume, ct) =>
            await LinkDebuggeeConnection.ConnectAsync(uri, resume: resume, acknowledge: true, cancellationToken: ct));
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        host.ConnectionLost += (_, _) => lost.TrySetResult();
        var lines = new List<int>();
        using var cts = new CancellationTokenSource();
        Task reader = ReadLinesAsync(host, lines, cts.Token);
        await BenchAgent.RegisterAsync(host, new EventRegistration { Direction = IoDirection.Out, Port = 0x3F8, Immediate = true, Script = NumberedLines });
        await host.SendAsync(new HostToAgent { Continue = new ContinueRequest() });
        await WaitForAsync(() => lines.Count >= 5, lines);

        relay.Command("freeze");
        await lost.Task.WaitAsync(TimeSpan.FromSeconds(60));
        int before;
        lock (lines)
        {
            before = lines.Count;
        }

        long thawed = Stopwatch.GetTimestamp();
        relay.Command("thaw");
        await WaitForAsync(() => lines.Count > before, lines);
        double seconds = Stopwatch.GetElapsedTime(thawed).TotalSeconds;
        await cts.CancelAsync();
        await reader.ContinueWith(_ => { }, TaskScheduler.Default);
        return seconds;
    }

    private static async Task WaitForAsync(Func<bool> condition, List<int> gate)
    {
        long deadline = Stopwatch.GetTimestamp() + (60 * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            lock (gate)
            {
                if (condition())
                {
                    return;
                }
            }

            await Task.Delay(5);
        }

        throw new TimeoutException("no output within 60 s");
    }

    private const int IdleAttempts = 2000;

    /// <summary>How many idle, unauthenticated TCP connections the agent holds (its socket descriptors, counted in
    /// /proc) when <see cref="IdleAttempts"/> are opened (the rest it closes at once), how many the client still sees
    /// open (those plus what waits in the kernel's listen backlog), and its resident memory before and after.</summary>
    private static (double Held, double ClientOpen, double RssBefore, double RssAfter) IdleConnections() => s_idle.Value;

    private static (double Held, double ClientOpen, double RssBefore, double RssAfter) IdleConnectionsOnce()
    {
        {
            using AgentProcess agent = AgentProcess.Start("--guest", "demo", "--listen", "tcp://127.0.0.1:0");
            int port = new Uri(agent.Listen[0].Replace("tcp://", "http://", StringComparison.Ordinal)).Port;
            double before = ResidentMiB(agent.Id);
            int socketsBefore = SocketCount(agent.Id);
            var sockets = new List<Socket>();
            try
            {
                for (int i = 0; i < IdleAttempts; i++)
                {
                    var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    s.Connect(IPAddress.Loopback, port);
                    sockets.Add(s);
                }

                // The agent closes what is beyond its cap as it accepts: count until the number holds still for a second
                // (well inside the handshake timeout, after which it closes the rest too).
                int held = IdleAttempts;
                long stable = Stopwatch.GetTimestamp();
                while (Stopwatch.GetElapsedTime(stable) < TimeSpan.FromSeconds(1))
                {
                    Thread.Sleep(100);
                    int now = sockets.Count(s => !(s.Poll(0, SelectMode.SelectRead) && s.Available == 0));
                    if (now != held)
                    {
                        held = now;
                        stable = Stopwatch.GetTimestamp();
                    }
                }

                return (SocketCount(agent.Id) - socketsBefore, held, Math.Round(before, 1), Math.Round(ResidentMiB(agent.Id), 1));
            }
            finally
            {
                foreach (Socket s in sockets)
                {
                    s.Dispose();
                }
            }
        }
    }

    private static int SocketCount(int pid) =>
        new DirectoryInfo($"/proc/{pid}/fd").EnumerateFileSystemInfos().Count(f => f.LinkTarget?.StartsWith("socket:", StringComparison.Ordinal) == true);

    private static double ResidentMiB(int pid)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
            }
        }

        throw new InvalidOperationException("VmRSS not found");
    }

    [GeneratedRegex(@"line (\d+)")]
    private static partial Regex Line();
}
