// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using System.Text;
using HyperDbgRemote.Agent.Events;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Agent.Wire;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.Script;

namespace HyperDbgRemote.Bench;

/// <summary>The script engine alone (evaluation, compilation) and script events end to end with a connected host.</summary>
internal static class ScriptBenchmarks
{
    private const string EvalScript = "if (@al == 5a) { printf(\"%x %x %x\\n\", @al, $core, $pid); }";
    private const string EventScript = "printf(\"%x %x %x\\n\", @al, $core, $pid);";
    private const int EvalRuns = 2_000_000;
    private const int CompileLines = 200;
    private static readonly int[] s_chainTerms = [1_600, 3_200, 16_000, 30_000];

    /// <summary>The script engine alone.</summary>
    public static IEnumerable<(string Name, Func<double> Run)> Engine()
    {
        yield return ("script.eval_per_s", () => Measure.Median(Evaluate));
        yield return ("script.compile_ms", () => Measure.Median(Compile));

        // ".x = 1+1+...+1;": compile time of operator chains (linear: 2x the terms, about 2x the time).
        foreach (int terms in s_chainTerms)
        {
            yield return ($"script.compile_chain_ms.{terms}", () => Measure.Median(() => CompileChain(terms)));
        }
    }

    /// <summary>Script events through the agent to a connected host.</summary>
    public static IEnumerable<(string Name, Func<double> Run)> EndToEnd()
    {
        yield return ("event.script_per_s.grpc", () => Measure.Median(() => Events("grpc://127.0.0.1:0"), 3));
        yield return ("event.script_per_s.pipe", () => Measure.Median(() => Events("pipe:" + Path.Combine(Path.GetTempPath(), $"hdr-ev-{Guid.NewGuid():N}.sock")), 3));
    }

    /// <summary>Runs per second of a condition on @al and a printf of three values into a reused buffer (one core).</summary>
    private static double Evaluate()
    {
        CompiledScript script = ScriptCompiler.Compile(EvalScript);
        var target = new BufferTarget();
        var globals = new ScriptGlobals();
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < EvalRuns; i++)
        {
            target.Length = 0;
            script.Run(target, globals);
        }

        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return target.Length == 0 ? throw new InvalidOperationException("the script printed nothing") : EvalRuns / seconds;
    }

    /// <summary>Milliseconds to compile a 200-line script (functions, loops, conditions, printf).</summary>
    private static double Compile()
    {
        var source = new StringBuilder();
        source.Append("int add_two(int x) { return x + 2; }\n");
        for (int i = 1; i < CompileLines; i += 4)
        {
            source.Append("for (i = 0; i < 0n10; i++) { .total = .total + add_two(i); }\n");
            source.Append("if (@rax > 0n").Append(i).Append(" && @rbx != 0) { printf(\"%llx %d\\n\", @rax, .total); } else { x = dq(@rsp + 8); }\n");
            source.Append("while (x > 0) { x = x - 1; y = y ^ x; }\n");
            source.Append("z = (@rcx << 3) | (@rdx >> 2) + y * 0n").Append(i).Append(";\n");
        }

        string text = source.ToString();
        return Measure.Seconds(() => ScriptCompiler.Compile(text)) * 1000;
    }

    /// <summary>Milliseconds to compile <c>.x = 1+1+...+1;</c> with <paramref name="terms"/> terms (issue 9: 16,000 terms
    /// overflowed the stack, 3,200 took 43 s).</summary>
    private static double CompileChain(int terms)
    {
        string text = ".x = " + string.Join('+', Enumerable.Repeat("1", terms)) + ";";
        return Measure.Seconds(() => ScriptCompiler.Compile(text)) * 1000;
    }

    private static double Events(string listen) => EventsAsync(listen).GetAwaiter().GetResult();

    /// <summary>
    /// Triggers per second of <c>!ioout 80 script { printf(...) } imm no</c> on a guest looping on <c>out 80h, al</c>,
    /// counting only messages the connected host received (the guest outruns any host; drops are counted and reported).
    /// </summary>
    private static async Task<double> EventsAsync(string listen)
    {
        using DebuggeeSession session = BenchAgent.OutLoopSession();
        await using var hub = new NotificationHub(session);
        var dispatcher = new RequestDispatcher(session, AgentScripts.Create(session));
        (IAsyncDisposable server, string address) = await WireBenchmarks.Serve(session, hub, dispatcher, listen);
        await using (server)
        {
            await using IDebuggeeConnection c = await WireBenchmarks.Connect(address);
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await using IAsyncEnumerator<Notification> notes = c.NotificationsAsync(cts.Token).GetAsyncEnumerator(cts.Token);
            await BenchAgent.RegisterAsync(c, BenchAgent.Port80(EventScript));

            session.Start();
            var window = TimeSpan.FromSeconds(2);
            long start = Stopwatch.GetTimestamp();
            long received = 0;
            long dropped = 0;
            while (Stopwatch.GetElapsedTime(start) < window && await notes.MoveNextAsync())
            {
                switch (notes.Current.BodyCase)
                {
                    case Notification.BodyOneofCase.ScriptOutput:
                        received += notes.Current.ScriptOutput.Texts.Count;
                        break;
                    case Notification.BodyOneofCase.Dropped:
                        dropped += (long)notes.Current.Dropped.Count;
                        break;
                }
            }

            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            await cts.CancelAsync();
            session.Vm.Stop();
            dropped += session.Messages.DroppedTotal;
            if (dropped > 0)
            {
                Console.Error.WriteLine($"bench: {dropped} messages were dropped (counted and reported); the figure is what the host received");
            }

            return received / seconds;
        }
    }

    /// <summary>A target with fixed registers whose printf output goes into a reused character buffer.</summary>
    private sealed class BufferTarget : IScriptTarget
    {
        private readonly char[] _buffer = new char[4096];

        public int Length { get; set; }

        public ulong ProcessId => 4;

        public ulong ThreadId => 8;

        public ulong ProcessNameAddress => 0;

        public ulong CoreId => 1;

        public ulong ProcessObject => 0;

        public ulong ThreadObject => 0;

        public ulong Peb => 0;

        public ulong Teb => 0;

        public ulong InstructionPointer => 0x100002;

        public ulong GetRegister(ScriptRegister fullRegister) => fullRegister == ScriptRegister.Rax ? 0x5AUL : 0UL;

        public bool TrySetRegister(ScriptRegister fullRegister, ulong value) => false;

        public bool TryRead(ulong address, Span<byte> destination) => false;

        public bool TryWrite(ulong address, ReadOnlySpan<byte> source) => false;

        public bool TryReadPhysical(ulong address, Span<byte> destination) => false;

        public bool TryWritePhysical(ulong address, ReadOnlySpan<byte> source) => false;

        public ulong VirtualToPhysical(ulong virtualAddress) => 0;

        public ulong PhysicalToVirtual(ulong physicalAddress) => 0;

        public void Output(ReadOnlySpan<char> text)
        {
            text.CopyTo(_buffer.AsSpan(Length));
            Length += text.Length;
        }

        public bool EventEnable(ulong eventId) => false;

        public bool EventDisable(ulong eventId) => false;

        public bool EventClear(ulong eventId) => false;

        public void SetShortCircuit(bool enabled)
        {
        }

        public void Pause()
        {
        }

        public void Flush()
        {
        }

        public void RecordTestValue(ulong value)
        {
        }
    }
}
