// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text.Json;
using HyperDbgRemote.FaultRelay;

// A fault-injecting relay between two terminal devices, run as its own process by the end-to-end tests and the
// benchmarks: the link under test sees a real serial line's bytes (through two socat pty pairs) with the faults a bad
// cable, a noisy line or a frozen relay would cause.
RelayOptions options;
try
{
    options = RelayOptions.Parse(args);
}
catch (FormatException ex)
{
    Console.Error.WriteLine($"fault-relay: {ex.Message}");
    Console.Error.WriteLine(RelayOptions.Usage);
    return 2;
}

await using FileStream aRead = Open(options.A, FileAccess.Read);
await using FileStream aWrite = Open(options.A, FileAccess.Write);
await using FileStream bRead = Open(options.B, FileAccess.Read);
await using FileStream bWrite = Open(options.B, FileAccess.Write);
var gate = new RelayGate();
using var stop = new CancellationTokenSource();
var aToB = new Direction(aRead, bWrite, options, gate, options.Seed);
var bToA = new Direction(bRead, aWrite, options, gate, options.Seed + 1);
Task[] pumps = [Task.Run(() => aToB.RunAsync(stop.Token)), Task.Run(() => bToA.RunAsync(stop.Token))];
Console.Out.WriteLine("ready");
Console.Out.Flush();

while (await Console.In.ReadLineAsync() is string command)
{
    switch (command.Trim())
    {
        case "freeze":
            gate.Freeze();
            break;
        case "thaw":
            gate.Thaw();
            break;
        case "cut":
            gate.IsCut = true;
            break;
        case "plug":
            gate.IsCut = false;
            break;
        case "stats":
            Console.Out.WriteLine(JsonSerializer.Serialize(new
            {
                aToB = Counters(aToB),
                bToA = Counters(bToA),
            }));
            break;
        case "quit":
            await stop.CancelAsync();
            return 0;
        default:
            Console.Out.WriteLine($"error unknown command '{command}'");
            Console.Out.Flush();
            continue;
    }

    Console.Out.WriteLine($"ok {command.Trim()}");
    Console.Out.Flush();
}

await stop.CancelAsync();
return 0;

static FileStream Open(string path, FileAccess access) =>
    new(path, FileMode.Open, access, FileShare.ReadWrite, bufferSize: 0, FileOptions.Asynchronous);

static object Counters(Direction d) => new
{
    bytesIn = Interlocked.Read(ref d.BytesIn),
    bytesOut = Interlocked.Read(ref d.BytesOut),
    bitsFlipped = Interlocked.Read(ref d.BitsFlipped),
    bytesDropped = Interlocked.Read(ref d.BytesDropped),
    duplicates = Interlocked.Read(ref d.Duplicates),
    garbageBursts = Interlocked.Read(ref d.GarbageBursts),
    stalls = Interlocked.Read(ref d.Stalls),
    bytesCut = Interlocked.Read(ref d.BytesCut),
};
