// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text.Json;
using HyperDbgRemote.Agent.Outputs;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Agent.Wire;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Devices.Serial;
using HyperDbgRemote.VmxDriver.Guests;
using Serilog;

namespace HyperDbgRemote.Agent;

/// <summary>The agent serving debuggers: starts the guest and its listeners, prints the ready line, runs until stopped.</summary>
internal static class AgentServer
{
    /// <summary>How long the agent may take to shut down after SIGTERM/SIGINT before it exits anyway.</summary>
    public static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(AgentOptions options, CancellationToken stop)
    {
        List<ListenUri> uris = [.. options.Listen.Select(ListenUri.Parse)];
        IGuestLoader loader = GuestSpec.Parse(options.Guest);
        int cores = options.Cores ?? loader.DefaultCores;
        OutputPolicy outputs = options.OutputDirectory is string dir
            ? OutputPolicy.ForDirectory(dir, options.AllowOutputConnections)
            : new OutputPolicy(null, options.AllowOutputConnections);
        using var session = new DebuggeeSession(
            loader,
            new VmConfiguration { Cores = cores, MemoryBytes = options.MemoryBytesFor(loader), Apic = loader.WantsApic },
            options.Limits,
            outputs: outputs,
            serialPorts: SerialBackendSet.SerialPortsFor(options.ComPorts),
            panicHalt: !options.NoPanicHalt);
        using SerialBackendSet serial = SerialBackendSet.Attach(session.Devices, options.ComPorts);
        foreach (string line in serial.Describe())
        {
            Console.Error.WriteLine(line);
        }

        var dispatcher = new RequestDispatcher(session, Events.AgentScripts.Create(session, options.MaxExecutionCount, options.MaxEvalExecutionCount));
        await using var hub = new NotificationHub(session, options.ResumeAfter);
        var security = new AgentSecurity(options.Token, options.TlsCertificate, options.TlsKey);
        List<ListenUri> grpc = [.. uris.Where(u => u.Scheme is "grpc" or "grpc+unix")];
        await using GrpcEndpoint? endpoint = grpc.Count == 0 ? null : await GrpcEndpoint.StartAsync(grpc, dispatcher, hub, security, session.Limits).ConfigureAwait(false);
        await using var links = new LinkServer(session, dispatcher, hub, security);
        foreach (ListenUri uri in uris.Where(u => u.Scheme is not ("grpc" or "grpc+unix" or "gdb")))
        {
            links.Listen(uri);
        }

        await using var gdb = new Gdb.GdbServer(session, hub, dispatcher);
        foreach (ListenUri uri in uris.Where(u => u.Scheme == "gdb"))
        {
            gdb.Listen(uri);
        }

        if (options.ScriptFile is string script && !await HeadlessScript.RunAsync(script, session, hub, dispatcher, Console.Error).ConfigureAwait(false))
        {
            Log.Error("the start-up script {Script} failed: the guest was not started", script);
            return 2;
        }

        session.Start(options.InitialBreak);
        Log.Information("guest {Guest} started with {Cores} core(s)", session.GuestDescription, cores);
        Console.Out.WriteLine(JsonSerializer.Serialize(new ReadyLine(true, [.. endpoint?.Addresses ?? [], .. links.Addresses, .. gdb.Addresses], session.GuestDescription, Environment.ProcessId), s_json));
        Console.Out.Flush();
        try
        {
            await Task.Delay(Timeout.Infinite, stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        Log.Information("agent stopping");
        return 0;
    }

    private static readonly JsonSerializerOptions s_json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private sealed record ReadyLine(bool Ready, IReadOnlyList<string> Listen, string Guest, int Pid);
}
