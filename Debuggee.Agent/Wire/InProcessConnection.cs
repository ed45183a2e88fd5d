// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.CompilerServices;
using HyperDbgRemote.Agent.Events;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Agent.Wire;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Guests;

namespace HyperDbgRemote.Agent.Wire;

/// <summary>A debugger in the agent's process: the same dispatcher and notifications as a remote host, without a
/// transport. The debugger's <c>--local</c> mode runs a whole agent this way; the agent's headless <c>--script</c>
/// runs its commands through one attached to its own session.</summary>
internal sealed class InProcessConnection : IDebuggeeConnection
{
    private readonly NotificationHub _hub;
    private readonly RequestDispatcher _dispatcher;
    private readonly bool _ownsSession;

    private InProcessConnection(DebuggeeSession session, NotificationHub hub, RequestDispatcher dispatcher, bool ownsSession)
    {
        Session = session;
        _hub = hub;
        _dispatcher = dispatcher;
        _ownsSession = ownsSession;
        Handshake = dispatcher.Handle(new HostToAgent { Handshake = new HandshakeRequest { ProtocolVersion = ProtocolVersion.Current } }).Handshake;
    }

    /// <summary>The embedded agent's session.</summary>
    public DebuggeeSession Session { get; }

    /// <inheritdoc/>
    public HandshakeResponse Handshake { get; }

    /// <summary>Starts a guest in this process; the script limits are the agent options' (null: their defaults).</summary>
    public static InProcessConnection Start(string guestSpec, int? cores, int? memoryMiB, bool initialBreak = false, long? maxExecutionCount = null, long? maxEvalExecutionCount = null, bool panicHalt = true)
    {
        IGuestLoader loader = GuestSpec.Parse(guestSpec);
        int n = cores ?? loader.DefaultCores;
        ulong memory = memoryMiB is int mib ? (ulong)mib * 1024 * 1024 : loader.DefaultMemoryBytes ?? 64UL * 1024 * 1024;
        var session = new DebuggeeSession(loader, new VmConfiguration { Cores = n, MemoryBytes = memory, Apic = loader.WantsApic }, serialPorts: 1, panicHalt: panicHalt);
        var hub = new NotificationHub(session);
        var dispatcher = new RequestDispatcher(session, AgentScripts.Create(session, maxExecutionCount, maxEvalExecutionCount));
        session.Start(initialBreak);
        return new InProcessConnection(session, hub, dispatcher, ownsSession: true);
    }

    /// <summary>Attaches to a session someone else owns (disposing the connection leaves it running).</summary>
    public static InProcessConnection Attach(DebuggeeSession session, NotificationHub hub, RequestDispatcher dispatcher) =>
        new(session, hub, dispatcher, ownsSession: false);

    /// <inheritdoc/>
    public Task<AgentToHost> SendAsync(HostToAgent request, CancellationToken cancellationToken = default) =>
        _dispatcher.HandleAsync(request, cancellationToken);

    /// <inheritdoc/>
    /// <remarks>Nothing to do: an in-process channel cannot be lost, so nothing is kept for a resume.</remarks>
    public Task AcknowledgeAsync(ulong sequence, CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <inheritdoc/>
    public async IAsyncEnumerable<Notification> NotificationsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        (var reader, IDisposable handle) = _hub.Subscribe();
        using (handle)
        {
            while (true)
            {
                Notification n;
                try
                {
                    if (!await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        yield break;
                    }

                    if (!reader.TryRead(out Notification? next))
                    {
                        continue;
                    }

                    n = next;
                }
                catch (OperationCanceledException)
                {
                    yield break;
                }

                yield return n;
            }
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_ownsSession)
        {
            await _hub.DisposeAsync().ConfigureAwait(false);
            Session.Dispose();
        }
    }
}
