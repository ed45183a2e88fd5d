// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.CompilerServices;
using Google.Protobuf;
using HyperDbgRemote.Protocol.Internal;

namespace HyperDbgRemote.Protocol;

/// <summary>
/// A reliable, ordered message link over a byte-stream <see cref="ITransport"/> (serial line, named pipe, raw TCP):
/// the host uses <c>ReliableLink&lt;HostToAgent, AgentToHost&gt;</c>, the agent the reverse. Each message is one DATA
/// frame (docs/protocol/serial.md); frames carry CRC-32C, sequence numbers and cumulative acknowledgements; lost or
/// corrupt frames are resent after a NAK or a timeout; duplicates are dropped; messages are delivered exactly once and
/// in order. An idle side sends KEEPALIVEs; silence beyond <see cref="LinkOptions.DeadPeerTimeout"/> closes the link
/// with <see cref="LinkClosedException"/>. Replaces HyperDbg's fire-and-forget packets (spec 7.6, 9.26–9.28).
/// </summary>
/// <typeparam name="TSend">Messages this side sends.</typeparam>
/// <typeparam name="TReceive">Messages this side receives.</typeparam>
public sealed class ReliableLink<TSend, TReceive> : IAsyncDisposable
    where TSend : IMessage<TSend>
    where TReceive : IMessage<TReceive>, new()
{
    private static readonly MessageParser<TReceive> s_parser = new(() => new TReceive());
    private readonly LinkEngine _engine;
    private long _undecodable;
    private long _consumed;

    /// <summary>Starts the link (sends RESET, starts the read and write loops and the timer).</summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public ReliableLink(ITransport transport, LinkOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        Transport = transport;
        _engine = new LinkEngine(transport, options ?? new LinkOptions { RequireAcknowledgements = !transport.IsReliable });
        _engine.BreakInReceived += (_, e) => BreakInReceived?.Invoke(this, e);
    }

    /// <summary>Raised (on the read loop; keep handlers short) when the peer sends the out-of-band break-in byte; the
    /// arguments say how many messages came before it.</summary>
    public event EventHandler<BreakInEventArgs>? BreakInReceived;

    /// <summary>Messages taken from the link so far (undecodable ones included): right after <see cref="ReceiveAsync"/>
    /// or <see cref="ReadAllAsync"/> returned a message (one reader), its number in the stream.</summary>
    public long MessagesReceived => Interlocked.Read(ref _consumed);

    /// <summary>The largest serialized message (<see cref="ProtocolLimits.MaxMessageBytes"/>): larger than a frame, it is
    /// split into fragments; <see cref="SendAsync"/> refuses bigger ones.</summary>
    public int MaxMessageBytes => _engine.MaxMessage;

    /// <summary>Completes when both sides know the session (docs/protocol/serial.md, "Sessions").</summary>
    public Task Established => _engine.Established;

    /// <summary>The transport underneath.</summary>
    public ITransport Transport { get; }

    /// <summary>Completes when the link ends: normally after a graceful close, faulted with <see cref="LinkClosedException"/> otherwise.</summary>
    public Task Completion => _engine.Completion;

    /// <summary>Messages received whose payload was not a valid <typeparamref name="TReceive"/> (dropped).</summary>
    public long UndecodableMessages => Interlocked.Read(ref _undecodable);

    /// <summary>Queues a message (in fragments when it is larger than a frame); completes once its last fragment is in the
    /// window (not when it is acknowledged). Messages from concurrent callers are never interleaved.</summary>
    /// <exception cref="ArgumentException">The serialized message exceeds <see cref="ProtocolLimits.MaxMessageBytes"/>.</exception>
    /// <exception cref="LinkClosedException">The link is closed.</exception>
    public ValueTask SendAsync(TSend message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return _engine.SendAsync(message.ToByteArray(), cancellationToken);
    }

    /// <summary>Sends the break-in byte between frames (the peer raises <see cref="BreakInReceived"/>). It is not resent; send a pause request too.</summary>
    public void SendBreakIn() => _engine.SendBreakIn();

    /// <summary>Waits for the next message, in order.</summary>
    /// <exception cref="LinkClosedException">The link is closed and every delivered message was read.</exception>
    public async ValueTask<TReceive> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            byte[] payload = await _engine.ReceiveAsync(cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _consumed);
            try
            {
                return s_parser.ParseFrom(payload);
            }
            catch (InvalidProtocolBufferException)
            {
                Interlocked.Increment(ref _undecodable);
            }
        }
    }

    /// <summary>Every message until the link closes (the enumeration then ends without an exception).</summary>
    public async IAsyncEnumerable<TReceive> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (true)
        {
            TReceive message;
            try
            {
                message = await ReceiveAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (LinkClosedException)
            {
                yield break;
            }

            yield return message;
        }
    }

    /// <summary>Counters of frames, resends, errors and bytes.</summary>
    public LinkStatistics GetStatistics() => _engine.GetStatistics();

    /// <summary>Sends CLOSE, stops the link and closes the transport.</summary>
    public ValueTask CloseAsync() => _engine.CloseAsync();

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => _engine.DisposeAsync();
}
