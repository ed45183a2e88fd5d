// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using System.Globalization;
using HyperDbgRemote.Agent.Events;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Agent.Wire;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Bench;

/// <summary>The debugger end to end: break round trips over the transports, agent memory.</summary>
internal static class EndToEndBenchmarks
{
    private const int Breaks = 300;

    public static IEnumerable<(string Name, Func<double> Run)> All()
    {
        yield return ("break.roundtrip_us.grpc", () => Measure.Median(() => RoundTrip("grpc://127.0.0.1:0"), 3));
        yield return ("break.roundtrip_us.grpc_unix", () => Measure.Median(() => RoundTrip("grpc+unix:" + TempSocket()), 3));
        yield return ("break.roundtrip_us.pipe", () => Measure.Median(() => RoundTrip("pipe:" + TempSocket()), 3));
        yield return ("break.roundtrip_us.pty", () => Measure.Median(PtyRoundTrip, 3));
        yield return ("agent.rss_mb", () => ChildProbe.Run("--agent-rss-probe"));
    }

    private static string TempSocket() => Path.Combine(Path.GetTempPath(), $"hdr-bench-{Guid.NewGuid():N}.sock");

    private static double RoundTrip(string listen) => RoundTripAsync(listen, null).GetAwaiter().GetResult();

    /// <summary>The agent on one end of a socat pty pair at 115200 baud, the host on the other (serial line settings
    /// on a pty do not pace the bytes: this measures the serial transport and the link, not a real UART).</summary>
    private static double PtyRoundTrip()
    {
        using SocatPtyPair pair = SocatPtyPair.Start();
        return RoundTripAsync($"serial:{pair.First}?baud=115200", $"serial:{pair.Second}?baud=115200").GetAwaiter().GetResult();
    }

    private static async Task<double> RoundTripAsync(string listen, string? connect)
    {
        using DebuggeeSession session = BenchAgent.OutLoopSession();
        await using var hub = new NotificationHub(session);
        (IAsyncDisposable server, string address) = await WireBenchmarks.Serve(session, hub, new RequestDispatcher(session, null), listen);
        await using var serverLifetime = server;
        session.Start();
        await using IDebuggeeConnection c = await WireBenchmarks.Connect(connect ?? address);
        using var cts = new CancellationTokenSource();
        await using IAsyncEnumerator<Notification> notes = c.NotificationsAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        await BenchAgent.RegisterAsync(c, BenchAgent.Port80());
        await NextHalt(notes);
        var continueRequest = new HostToAgent { Continue = new ContinueRequest() };
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < Breaks; i++)
        {
            await c.SendAsync(continueRequest);
            await NextHalt(notes);
        }

        double us = Stopwatch.GetElapsedTime(start).TotalMicroseconds / Breaks;
        await cts.CancelAsync();
        return us;
    }

    private static async Task NextHalt(IAsyncEnumerator<Notification> notes)
    {
        while (await notes.MoveNextAsync())
        {
            if (notes.Current.BodyCase == Notification.BodyOneofCase.Halted)
            {
                return;
            }
        }

        throw new InvalidOperationException("the notification stream ended");
    }

    /// <summary>In a child process: an agent session with 100 events registered, its guest running.</summary>
    public static double RssProbe()
    {
        using DebuggeeSession session = BenchAgent.OutLoopSession(cores: 2, memoryMiB: 64);
        for (int i = 0; i < 100; i++)
        {
            session.Events.Register(new IoEventSpec { Direction = IoEventDirection.In, Port = (ushort)(0x1000 + i), Code = [0xC3], BufferSize = 256 });
        }

        session.Start();
        Thread.Sleep(1000);
        return ChildProbe.ResidentMiB();
    }
}
