// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Agent.Wire;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Internal;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.Tests.Shared;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Guests;

namespace HyperDbgRemote.Bench;

/// <summary>The wire: framing overhead, request round trips per transport, notification throughput over gRPC.</summary>
internal static class WireBenchmarks
{
    private const int RoundTrips = 2000;
    private const int StreamedEvents = 2_000_000;
    private const int ImmediateEvents = 20_000;
    private const int MessageQueueHeadroom = 10_000;
    private const int SerialBytesPerSecond = 11_520; // 115200 baud, 8N1
    private const string TypicalMessage = "shell tick 0001\r\n";
    private const string TypicalScript = "printf(\"shell tick 0001\\r\\n\");";

    /// <summary>One paced-serial run serves both of its metrics.</summary>
    private static readonly Lazy<(double MessagesPerSecond, double WireFraction)> s_serial = new(() => Serial().GetAwaiter().GetResult());

    public static IEnumerable<(string Name, Func<double> Run)> All()
    {
        yield return ("link.overhead_bytes_per_msg", Overhead);
        yield return ("rtt_us.grpc", () => Measure.Median(() => RoundTrip("grpc://127.0.0.1:0"), 3));
        yield return ("rtt_us.tcp", () => Measure.Median(() => RoundTrip("tcp://127.0.0.1:0"), 3));
        yield return ("rtt_us.pty", () => Measure.Median(PtyRoundTrip, 3));
        yield return ("serial115200.msgs_per_s", () => s_serial.Value.MessagesPerSecond);
        yield return ("serial115200.wire_fraction", () => s_serial.Value.WireFraction);
        yield return ("rtt_us.pipe", () => Measure.Median(() => RoundTrip("pipe:" + Path.Combine(Path.GetTempPath(), $"hdr-rtt-{Guid.NewGuid():N}.sock")), 3));
        yield return ("grpc.events_per_s", () => Measure.Median(() => Stream("grpc://127.0.0.1:0", batched: true), 3));
        yield return ("grpc.events_per_s.immediate", () => Measure.Median(() => Stream("grpc://127.0.0.1:0", batched: false), 3));
        yield return ("grpc.drain_per_s", () => Measure.Median(() => Drain("grpc://127.0.0.1:0"), 3));
        yield return ("grpc.events_per_s.unix", () => Measure.Median(() => Stream("grpc+unix:" + Path.Combine(Path.GetTempPath(), $"hdr-ev-{Guid.NewGuid():N}.sock"), batched: true), 3));
    }

    /// <summary>Bytes on the wire beyond the protobuf payload for a typical script-output message.</summary>
    private static double Overhead()
    {
        var message = new AgentToHost { Notification = new Notification { ScriptOutput = new ScriptOutputNotification { EventId = 0, Texts = { "shell tick 0001\r\n" } } } };
        return FrameCodec.Overhead(message.CalculateSize());
    }

    private static DebuggeeSession Session() =>
        new(new Flat64Guest([0xF4], 0x100000), new VmConfiguration { MemoryBytes = 16 * 1024 * 1024 });

    private static Task<(IAsyncDisposable Server, string Address)> Serve(DebuggeeSession session, NotificationHub hub, string listen) =>
        Serve(session, hub, new RequestDispatcher(session, null), listen);

    /// <summary>Serves <paramref name="session"/> on <paramref name="listen"/> (gRPC or the framed link).</summary>
    internal static async Task<(IAsyncDisposable Server, string Address)> Serve(DebuggeeSession session, NotificationHub hub, RequestDispatcher dispatcher, string listen)
    {
        var security = new AgentSecurity(null, null, null);
        ListenUri uri = ListenUri.Parse(listen);
        if (uri.Scheme.StartsWith("grpc", StringComparison.Ordinal))
        {
            GrpcEndpoint e = await GrpcEndpoint.StartAsync([uri], dispatcher, hub, security, ProtocolLimits.Default);
            return (e, e.Addresses[0]);
        }

        var links = new LinkServer(session, dispatcher, hub, security);
        links.Listen(uri);
        return (links, links.Addresses[0]);
    }

    /// <summary>Connects a host to <paramref name="address"/> (gRPC or the framed link).</summary>
    internal static async Task<IDebuggeeConnection> Connect(string address) =>
        address.StartsWith("grpc", StringComparison.Ordinal) ? await GrpcDebuggeeConnection.ConnectAsync(address) : await LinkDebuggeeConnection.ConnectAsync(address);

    /// <summary>Median round trip of a status request, in microseconds.</summary>
    private static double RoundTrip(string listen) => RoundTripAsync(listen, null).GetAwaiter().GetResult();

    /// <summary>Round trips with the agent on <paramref name="listen"/>; the host connects to the address it reports, or to
    /// <paramref name="connect"/> (the other end of a serial line).</summary>
    private static async Task<double> RoundTripAsync(string listen, string? connect)
    {
        using DebuggeeSession session = Session();
        await using var hub = new NotificationHub(session);
        (IAsyncDisposable server, string address) = await Serve(session, hub, listen);
        await using (server)
        {
            await using IDebuggeeConnection c = await Connect(connect ?? address);
            var request = new HostToAgent { Status = new StatusRequest() };
            for (int i = 0; i < 200; i++)
            {
                await c.SendAsync(request);
            }

            double[] times = new double[RoundTrips];
            for (int i = 0; i < RoundTrips; i++)
            {
                long start = Stopwatch.GetTimestamp();
                await c.SendAsync(request);
                times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }

            Array.Sort(times);
            return times[RoundTrips / 2];
        }
    }

    /// <summary>Notifications per second when 90,000 are already queued before the host connects (no producer).</summary>
    private static double Drain(string listen) => DrainAsync(listen).GetAwaiter().GetResult();

    private static async Task<double> DrainAsync(string listen)
    {
        const int queued = 90_000;
        using DebuggeeSession session = Session();
        for (int i = 0; i < queued; i++)
        {
            session.Messages.Immediate(0, "5a 0 1\n");
        }

        await using var hub = new NotificationHub(session);
        (IAsyncDisposable server, string address) = await Serve(session, hub, listen);
        await using (server)
        {
            await using IDebuggeeConnection c = await Connect(address);
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await using IAsyncEnumerator<Notification> notes = c.NotificationsAsync(cts.Token).GetAsyncEnumerator(cts.Token);
            long start = Stopwatch.GetTimestamp();
            int received = 0;
            while (received < queued && await notes.MoveNextAsync())
            {
                if (notes.Current.BodyCase == Notification.BodyOneofCase.ScriptOutput)
                {
                    received++;
                }
            }

            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            await cts.CancelAsync();
            return received / seconds;
        }
    }

    /// <summary>Notifications per second delivered to a connected host over gRPC (messages produced as fast as possible).</summary>
    private static double Stream(string listen, bool batched) => StreamAsync(listen, batched).GetAwaiter().GetResult();

    /// <summary>Script-output messages per second a connected host receives: <c>imm no</c> (batched) or <c>imm yes</c>
    /// (one notification each). Fails if any was dropped.</summary>
    private static async Task<double> StreamAsync(string listen, bool batched)
    {
        int events = batched ? StreamedEvents : ImmediateEvents;
        using DebuggeeSession session = Session();
        await using var hub = new NotificationHub(session);
        (IAsyncDisposable server, string address) = await Serve(session, hub, listen);
        await using (server)
        {
            await using IDebuggeeConnection c = await Connect(address);
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await using IAsyncEnumerator<Notification> notes = c.NotificationsAsync(cts.Token).GetAsyncEnumerator(cts.Token);
            await Task.Delay(100);
            long start = Stopwatch.GetTimestamp();
            var producer = Task.Run(() =>
            {
                for (int i = 0; i < events; i++)
                {
                    // A guest cannot outrun a bounded queue forever; keep below its capacity so nothing is dropped.
                    while (session.Messages.Count > MessageQueueHeadroom)
                    {
                        Thread.Yield();
                    }

                    if (batched)
                    {
                        session.Messages.Batched("5a 0 1\n");
                    }
                    else
                    {
                        session.Messages.Immediate(0, "5a 0 1\n");
                    }
                }
            });
            long received = 0;
            long dropped = 0;
            while (received + dropped < events && await notes.MoveNextAsync())
            {
                if (notes.Current.BodyCase == Notification.BodyOneofCase.ScriptOutput)
                {
                    received += notes.Current.ScriptOutput.Texts.Count;
                }
                else if (notes.Current.BodyCase == Notification.BodyOneofCase.Dropped)
                {
                    dropped += (long)notes.Current.Dropped.Count;
                }
            }

            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            await producer;
            await cts.CancelAsync();
            if (dropped > 0)
            {
                throw new InvalidOperationException($"{dropped} of {events} events were dropped (counted and reported): the figure would not be delivered events.");
            }

            return received / seconds;
        }
    }

    private static double PtyRoundTrip()
    {
        using SocatPtyPair pair = SocatPtyPair.Start();
        return RoundTripAsync($"serial:{pair.First}?baud=115200", $"serial:{pair.Second}?baud=115200").GetAwaiter().GetResult();
    }

    /// <summary>
    /// Typical script-output messages per second (<c>printf("shell tick 0001\r\n")</c>, <c>imm no</c>) that a host
    /// receives through a line paced at 115200 baud, and the text bytes they carry as a fraction of the line's 11,520
    /// bytes per second. The guest produces far more than the line carries; the surplus is counted as dropped.
    /// </summary>
    private static async Task<(double MessagesPerSecond, double WireFraction)> Serial()
    {
        using var line = new PacedSerialLineProcess(SerialBytesPerSecond);
        using DebuggeeSession session = BenchAgent.OutLoopSession();
        await using var hub = new NotificationHub(session);
        var dispatcher = new RequestDispatcher(session, Agent.Events.AgentScripts.Create(session));
        (IAsyncDisposable server, _) = await Serve(session, hub, dispatcher, $"serial:{line.AgentEnd}?baud=115200");
        await using (server)
        {
            await using IDebuggeeConnection c = await Connect($"serial:{line.HostEnd}?baud=115200");
            await BenchAgent.RegisterAsync(c, BenchAgent.Port80(TypicalScript));

            // Frames arrive in lumps of about a quarter second: the rate is taken between the first and the last
            // arrival of the counting window (the messages of the first arrival were carried before it).
            using var cts = new CancellationTokenSource();
            var arrivals = new List<(long At, int Texts)>();
            bool counting = false;
            Task reader = Task.Run(async () =>
            {
                await foreach (Notification n in c.NotificationsAsync(cts.Token))
                {
                    if (n.BodyCase == Notification.BodyOneofCase.ScriptOutput && Volatile.Read(ref counting))
                    {
                        lock (arrivals)
                        {
                            arrivals.Add((Stopwatch.GetTimestamp(), n.ScriptOutput.Texts.Count));
                        }
                    }
                }
            });
            session.Start();
            await Task.Delay(TimeSpan.FromSeconds(2)); // the line fills
            Volatile.Write(ref counting, true);
            long lineBytesAtStart = line.BytesToHost;
            long start = Stopwatch.GetTimestamp();
            await Task.Delay(TimeSpan.FromSeconds(8));
            double lineSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            long lineBytes = line.BytesToHost - lineBytesAtStart;
            (long At, int Texts)[] window;
            lock (arrivals)
            {
                window = [.. arrivals];
            }

            if (window.Length < 2)
            {
                throw new InvalidOperationException($"only {window.Length} script-output notifications arrived in 8 s");
            }

            long count = window.Skip(1).Sum(a => (long)a.Texts);
            double seconds = Stopwatch.GetElapsedTime(window[0].At, window[^1].At).TotalSeconds;
            await cts.CancelAsync();
            session.Vm.Stop();
            try
            {
                await reader;
            }
            catch (OperationCanceledException)
            {
            }

            double rate = count / seconds;
            string stats = c is LinkDebuggeeConnection link ? link.Link.GetStatistics().ToString() : string.Empty;
            Console.Error.WriteLine($"bench: serial: {count} messages in {seconds:F1} s; the line carried {lineBytes / lineSeconds:F0} B/s to the host and {line.BytesToAgent} bytes in all to the agent; {session.Messages.DroppedTotal} dropped at the agent; {session.Vm.ExitCountsByPort().GetValueOrDefault((ushort)0x80)} exits on port 80; host link {stats}");
            return (rate, rate * TypicalMessage.Length / SerialBytesPerSecond);
        }
    }
}
