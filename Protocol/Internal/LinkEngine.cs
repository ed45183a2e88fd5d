// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Security.Cryptography;
using System.Threading.Channels;

namespace HyperDbgRemote.Protocol.Internal;

/// <summary>
/// The reliable framed link on raw payloads: a session handshake (RESET nonces, a session key in every frame's CRC),
/// messages split into fragments, sequence numbers mod 256, a sliding window, cumulative ACKs piggybacked on every frame,
/// selective NAKs, resend on NAK and on timeout, duplicate suppression, in-order delivery, keep-alives and dead-peer
/// detection. One read loop, one write loop (everything written goes through one queue, so frames never interleave and
/// the break-in byte falls between frames), and one timer on the injected clock. All state is guarded by
/// <see cref="_gate"/>.
/// </summary>
internal sealed partial class LinkEngine : IAsyncDisposable
{
    private const int ReadBufferSize = 16 * 1024;
    private const int WriteBatchBytes = 16 * 1024;
    private const int HalfSequenceSpace = ProtocolConstants.SequenceModulus / 2;
    private const int MinTickMs = 5;
    private const int TickDivisor = 4;
    private const int MillisecondsPerSecond = 1000;

    private readonly ITransport _transport;
    private readonly LinkOptions _options;
    private readonly TimeProvider _clock;
    private readonly FrameDecoder _decoder;
    private readonly Lock _gate = new();
    private readonly Channel<byte[]> _outgoing = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Channel<byte[]> _incoming = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = false });
    private readonly SemaphoreSlim _window;
    private readonly SemaphoreSlim _messageOrder = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _established = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SendSlot?[] _slots = new SendSlot?[ProtocolConstants.SequenceModulus];
    private readonly Frame?[] _reorder = new Frame?[ProtocolConstants.SequenceModulus];
    private readonly byte _flags;
    private readonly uint _nonce;
    private readonly TimeSpan _nakHoldoff;
    private readonly ITimer _timer;
    private readonly Task _readLoop;
    private readonly Task _writeLoop;

    private byte _nextSequence;
    private byte _sendBase;
    private int _inFlight;

    // The session (docs/protocol/serial.md, "Sessions"): the peer's nonce (0 while unknown), the CRC state of the
    // session key, and whether the peer has shown it knows our nonce.
    private uint _peerNonce;
    private uint _sessionState;
    private bool _isEstablished;
    private long _lastResetSent;
    private readonly long _createdAt;
    private readonly TimeSpan _tickPeriod;
    private long _lastTick;

    // Smoothed round trip and its variation (RFC 6298), in milliseconds; negative until the first sample.
    private double _smoothedRoundTripMs = -1;
    private double _roundTripVariationMs;
    private int _backoff = 1;
    private int _bytesInFlight;
    private byte _expected;
    private int _buffered;
    private bool _nakNeeded;
    private bool _probeNeeded;
    private bool _receivedAny;
    private bool _reportPending;
    private byte _lastReceived;
    private readonly long[] _sendNumbers = new long[ProtocolConstants.SequenceModulus];
    private long _sendCounter;
    private long _partialFrameId;
    private long _partialFrameSince;
    private bool _closeRequested;
    private long _lastNak;
    private long _lastReceive;
    private long _lastSend;
    private Exception? _fault;

    // Fragments: the size new DATA frames are cut to, and what the receiving side has reassembled so far.
    private int _fragmentSize;
    private int _cleanFrames;
    private readonly List<byte[]> _reassembly = [];
    private int _reassembledBytes;
    private bool _discarding;

    private long _messagesSent;
    private long _messagesDelivered;
    private long _framesSent;
    private long _bytesSent;
    private long _bytesReceived;
    private long _retransmissions;
    private long _naksSent;
    private long _naksReceived;
    private long _duplicates;
    private long _lost;
    private long _lostMessages;
    private long _oversizedMessages;
    private long _keepAlives;
    private long _staleResets;

    public LinkEngine(ITransport transport, LinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _transport = transport;
        _options = options;
        _clock = options.TimeProvider;
        _decoder = new FrameDecoder(options.Limits.MaxFramePayload) { SessionState = null };
        _window = new SemaphoreSlim(options.WindowSize, options.WindowSize);
        _flags = options.RequireAcknowledgements ? (byte)0 : ProtocolConstants.FlagAckFree;
        _nonce = (uint)RandomNumberGenerator.GetInt32(1, int.MaxValue);
        _fragmentSize = LineRate > 0 ? Math.Min(ProtocolConstants.PacedInitialFragment, MaxFragment) : MaxFragment;
        TimeSpan tick = TimeSpan.FromMilliseconds(Math.Max(MinTickMs, Math.Min(options.RetransmitTimeout.TotalMilliseconds, options.KeepAliveInterval.TotalMilliseconds) / TickDivisor));
        _nakHoldoff = options.RetransmitTimeout / TickDivisor;
        _tickPeriod = tick;
        _createdAt = _lastReceive = _lastSend = _lastNak = _lastTick = _clock.GetTimestamp();
        lock (_gate)
        {
            SendReset(_lastSend);
        }

        _timer = _clock.CreateTimer(_ => OnTick(), null, tick, tick);
        _readLoop = Task.Run(ReadLoopAsync);
        _writeLoop = Task.Run(WriteLoopAsync);
    }

    /// <summary>Raised on the read loop when the peer sends the break-in byte, with the number of messages delivered
    /// before it.</summary>
    public event EventHandler<BreakInEventArgs>? BreakInReceived;

    /// <summary>Completes when the link ends: successfully after a graceful close, faulted with <see cref="LinkClosedException"/> otherwise.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Completes when both sides know the session (the first message can then be sent).</summary>
    public Task Established => _established.Task;

    /// <summary>The largest message: larger than a frame, it is split into fragments.</summary>
    public int MaxMessage => _options.Limits.MaxMessageBytes;

    /// <summary>Line rate in bytes per second (configured, or the transport's), or 0 on an unpaced stream.</summary>
    private int LineRate => _options.BytesPerSecond > 0 ? _options.BytesPerSecond : _transport.BytesPerSecond;

    /// <summary>The largest fragment: the frame limit, and on a paced line at most <see cref="ProtocolConstants.PacedMaxFragment"/>.</summary>
    private int MaxFragment => LineRate > 0 ? Math.Min(_options.Limits.MaxFramePayload, ProtocolConstants.PacedMaxFragment) : _options.Limits.MaxFramePayload;

    /// <summary>Queues one message (split into fragments when it is larger than a frame); waits for the session and,
    /// in acknowledged mode, for window space. Completes once the last fragment is in the window.</summary>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        if (payload.Length > MaxMessage)
        {
            throw new ArgumentException($"message of {payload.Length} bytes exceeds the message limit of {MaxMessage} bytes.", nameof(payload));
        }

        ThrowIfClosed();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        try
        {
            await _established.Task.WaitAsync(linked.Token).ConfigureAwait(false);
            await _messageOrder.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            ThrowIfClosed();
            throw;
        }

        try
        {
            int offset = 0;
            do
            {
                if (_options.RequireAcknowledgements && !_window.Wait(0, CancellationToken.None))
                {
                    try
                    {
                        await _window.WaitAsync(linked.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        ThrowIfClosed();
                        throw;
                    }
                }

                lock (_gate)
                {
                    ThrowIfClosed();
                    int length = Math.Min(_fragmentSize, payload.Length - offset);
                    byte flags = _flags;
                    flags |= offset > 0 ? ProtocolConstants.FlagContinuation : (byte)0;
                    flags |= offset + length < payload.Length ? ProtocolConstants.FlagMoreFragments : (byte)0;
                    EnqueueSequenced(flags, payload.Slice(offset, length).ToArray());
                    offset += length;
                    if (offset == payload.Length)
                    {
                        _messagesSent++;
                    }
                }
            }
            while (offset < payload.Length);
        }
        finally
        {
            _messageOrder.Release();
        }
    }

    /// <summary>Writes the break-in byte between two frames.</summary>
    public void SendBreakIn()
    {
        ThrowIfClosed();
        _outgoing.Writer.TryWrite([ProtocolConstants.BreakInByte]);
    }

    /// <summary>Takes the next delivered payload, in order.</summary>
    public async ValueTask<byte[]> ReceiveAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _incoming.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException ex)
        {
            throw _fault as LinkClosedException ?? new LinkClosedException("the link is closed.", ex);
        }
    }

    public LinkStatistics GetStatistics()
    {
        lock (_gate)
        {
            return new LinkStatistics(
                Interlocked.Read(ref _framesSent), _decoder.Frames, Interlocked.Read(ref _bytesSent), Interlocked.Read(ref _bytesReceived),
                _messagesSent, _messagesDelivered, _retransmissions, _naksSent, _naksReceived, _duplicates, _decoder.CrcErrors,
                _decoder.HeaderErrors, _decoder.OversizedFrames, _decoder.GarbageBytes, _lost, _decoder.BreakIns, _keepAlives)
            {
                LostMessages = _lostMessages,
                OversizedMessages = _oversizedMessages,
                StaleResets = _staleResets,
                FragmentSize = _fragmentSize,
            };
        }
    }

    /// <summary>Sends CLOSE (best effort), stops the loops and closes the transport.</summary>
    public async ValueTask CloseAsync()
    {
        lock (_gate)
        {
            if (_fault is null && _isEstablished)
            {
                _outgoing.Writer.TryWrite(FrameCodec.Encode(FrameType.Close, _flags, 0, _expected, [], _sessionState));
            }
        }

        _outgoing.Writer.TryComplete();
        try
        {
            // A bounded grace period for the CLOSE frame on the real clock: a fake clock must not make closing hang.
            await _writeLoop.WaitAsync(TimeSpan.FromMilliseconds(ProtocolConstants.DefaultRetransmitTimeoutMs)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The transport is stuck; closing it below ends the write.
        }

        Shutdown(new LinkClosedException("the link was closed."), graceful: true);
        await _transport.CloseAsync().ConfigureAwait(false);
        await Task.WhenAll(_readLoop, _writeLoop).ConfigureAwait(false);
        _messageOrder.Dispose();
    }

    public ValueTask DisposeAsync() => CloseAsync();

    private void ThrowIfClosed()
    {
        if (_fault is not null || _stop.IsCancellationRequested)
        {
            throw _fault as LinkClosedException ?? new LinkClosedException("the link is closed.");
        }
    }

    private sealed class SendSlot(byte flags, byte[] payload, long sentAt, long sendNumber)
    {
        /// <summary>Order of the latest transmission among all transmissions of this link.</summary>
        public long SendNumber { get; set; } = sendNumber;

        /// <summary>The peer reported holding this frame out of order (selective acknowledgement): never resend it.</summary>
        public bool Held { get; set; }

        public byte Flags { get; } = flags;

        public byte[] Payload { get; } = payload;

        public long SentAt { get; set; } = sentAt;

        /// <summary>Sent more than once: its acknowledgement gives no round-trip sample.</summary>
        public bool Resent { get; set; }
    }
}
