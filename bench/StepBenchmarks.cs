// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using System.Net.Sockets;
using HyperDbgRemote.Agent.Gdb;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Agent.Wire;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Bench;

/// <summary>Single steps per second: through the agent's gRPC listener as the host sends <c>t</c>, and through the
/// gdb stub as gdb sends <c>stepi</c>. Each step is one request and one reply; the guest loops on <c>out 80h</c>.</summary>
internal static class StepBenchmarks
{
    private const int Steps = 2000;

    public static IEnumerable<(string Name, Func<double> Run)> All()
    {
        yield return ("step.per_s", () => Measure.Median(() => GrpcStepsAsync().GetAwaiter().GetResult(), 3));
        yield return ("gdb.stepi_per_s", () => Measure.Median(() => GdbStepsAsync().GetAwaiter().GetResult(), 3));
    }

    /// <summary>An agent session halted at its initial break.</summary>
    private static async Task<DebuggeeSession> HaltedSessionAsync()
    {
        DebuggeeSession session = BenchAgent.OutLoopSession();
        var halted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        session.Vm.Halted += (_, _) => halted.TrySetResult();
        session.Start(initialBreak: true);
        await halted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return session;
    }

    /// <summary><c>t</c> as the host sends it: a StepRequest of one instruction, answered with the halt.</summary>
    private static async Task<double> GrpcStepsAsync()
    {
        using DebuggeeSession session = await HaltedSessionAsync();
        await using var hub = new NotificationHub(session);
        (IAsyncDisposable server, string address) = await WireBenchmarks.Serve(session, hub, new RequestDispatcher(session, null), "grpc://127.0.0.1:0");
        await using var serverLifetime = server;
        await using IDebuggeeConnection c = await WireBenchmarks.Connect(address);
        var step = new HostToAgent { Step = new StepRequest { Count = 1 } };
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < Steps; i++)
        {
            AgentToHost reply = await c.SendAsync(step);
            if (reply.Step.Status != Status.Ok)
            {
                throw new InvalidOperationException(reply.Step.Message);
            }
        }

        return Steps / Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary><c>stepi</c> as gdb sends it: the <c>s</c> packet, acknowledged, answered with a stop reply.</summary>
    private static async Task<double> GdbStepsAsync()
    {
        using DebuggeeSession session = await HaltedSessionAsync();
        await using var hub = new NotificationHub(session);
        await using var gdb = new GdbServer(session, hub, new RequestDispatcher(session, null));
        gdb.Listen(ListenUri.Parse("gdb://127.0.0.1:0"));
        int port = int.Parse(gdb.Addresses[0].Split(':')[2], System.Globalization.CultureInfo.InvariantCulture);
        using var tcp = new TcpClient("127.0.0.1", port) { NoDelay = true }; // as gdb sets TCP_NODELAY: no Nagle wait between the ack and the next packet
        NetworkStream stream = tcp.GetStream();
        var decoder = new GdbPacketDecoder(1 << 20);
        var pending = new Queue<GdbInput>();
        byte[] buffer = new byte[4096];
        byte[] stepPacket = GdbPacketDecoder.Frame("s");
        byte[] ack = "+"u8.ToArray();
        async Task<GdbInput> NextAsync()
        {
            while (pending.Count == 0)
            {
                int n = await stream.ReadAsync(buffer);
                if (n == 0)
                {
                    throw new InvalidOperationException("the stub closed the connection");
                }

                var output = new List<GdbInput>();
                decoder.Feed(buffer.AsSpan(0, n), output);
                output.ForEach(pending.Enqueue);
            }

            return pending.Dequeue();
        }

        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < Steps; i++)
        {
            await stream.WriteAsync(stepPacket);
            GdbInput reply;
            do
            {
                reply = await NextAsync();
            }
            while (reply.Kind != GdbInputKind.Packet);

            if (!reply.Payload.StartsWith('T'))
            {
                throw new InvalidOperationException($"the stub answered '{reply.Payload}' to a step");
            }

            await stream.WriteAsync(ack);
        }

        return Steps / Stopwatch.GetElapsedTime(start).TotalSeconds;
    }
}
