// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

// Watches a guest's I/O port through a headless agent: registers a break event, prints each halt, continues, and
// after N breaks clears the event. The same as examples/python/watch_ports.py, with the C# Protocol client.
//   dotnet watch-ports.dll grpc://127.0.0.1:50051 80 3
//   dotnet watch-ports.dll pipe:/tmp/agent.sock 3f8 5
using System.Globalization;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;

if (args.Length < 2 || !uint.TryParse(args[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint port) || port > 0xFFFF)
{
    Console.Error.WriteLine("usage: watch-ports URI PORT(hex) [BREAKS]   (URI: grpc://…, grpc+unix:…, tcp://…, pipe:…, serial:…)");
    return 2;
}

int breaks = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
string? token = Environment.GetEnvironmentVariable("HYPERDBG_TOKEN");
await using IDebuggeeConnection agent = args[0].StartsWith("grpc", StringComparison.OrdinalIgnoreCase)
    ? await GrpcDebuggeeConnection.ConnectAsync(args[0], token)
    : await LinkDebuggeeConnection.ConnectAsync(args[0], token);
Console.WriteLine($"connected to {agent.Handshake.AgentName}: {agent.Handshake.Guest.Description}");

using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
await using IAsyncEnumerator<Notification> notes = agent.NotificationsAsync(cts.Token).GetAsyncEnumerator(cts.Token);
AgentToHost registered = await agent.SendAsync(new HostToAgent
{
    RegisterEvent = new RegisterEventRequest { Event = new EventRegistration { Direction = IoDirection.Out, Port = port, Immediate = true, CommandText = $"!ioout {port:x}" } },
});
if (registered.RegisterEvent.Status != Status.Ok)
{
    Console.Error.WriteLine($"watch-ports: {registered.RegisterEvent.Message}");
    return 1;
}

uint id = registered.RegisterEvent.EventId;
Console.WriteLine($"event {id:x} registered on port {port:x}");
for (int seen = 1; seen <= breaks && await notes.MoveNextAsync();)
{
    if (notes.Current.BodyCase != Notification.BodyOneofCase.Halted)
    {
        continue;
    }

    HaltedNotification h = notes.Current.Halted;
    Console.WriteLine($"break {seen}: core {h.Core} event {h.EventId:x} port {h.Port:x} rip {h.Rip:x} {h.Disassembly} al={h.Registers.Values["rax"] & 0xFF:x2}");
    if (seen == breaks)
    {
        await agent.SendAsync(new HostToAgent { ModifyEvent = new ModifyEventRequest { Action = EventAction.Clear, EventId = id } });
    }

    AgentToHost resumed = await agent.SendAsync(new HostToAgent { Continue = new ContinueRequest() });
    if (resumed.Continue.Status != Status.Ok)
    {
        Console.Error.WriteLine($"watch-ports: continue failed: {resumed.Continue.Message}");
        return 1;
    }

    seen++;
}

Console.WriteLine($"done: {breaks} breaks, event cleared, guest running");
return 0;
