// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using System.Net.Sockets;

namespace HyperDbgRemote.Protocol.Internal;

/// <summary>Receiving side: the session handshake, decode, acknowledge, reorder, reassemble, deliver, request missing frames.</summary>
internal sealed partial class LinkEngine
{
    private const int MaxNakEntries = ProtocolConstants.MaxWindowSize;

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[ReadBufferSize];
        var items = new List<DecodedItem>();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                int n = await _transport.ReadAsync(buffer, _stop.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    Shutdown(new LinkClosedException($"{_transport.Description}: the peer closed the connection."), graceful: false);
                    return;
                }

                Interlocked.Add(ref _bytesReceived, n);
                items.Clear();
                List<long>? breakIns = null;
                bool closeRequested = false;
                LinkClosedException? restarted = null;
                lock (_gate)
                {
                    long damageBefore = Damage;
                    _decoder.Feed(buffer.AsSpan(0, n), items);
                    _probeNeeded |= Damage != damageBefore && _receivedAny;
                    long now = _clock.GetTimestamp();

                    // Any byte is a sign of life: on a noisy line the peer is there even while its frames arrive corrupt.
                    _lastReceive = now;
                    foreach (DecodedItem item in items)
                    {
                        if (item.IsBreakIn)
                        {
                            if (_isEstablished)
                            {
                                (breakIns ??= []).Add(_messagesDelivered);
                            }
                        }
                        else
                        {
                            closeRequested |= Handle(item.Frame, now, ref restarted);
                        }
                    }

                    if (!_stop.IsCancellationRequested && restarted is null)
                    {
                        FlushControl(now);
                    }
                }

                if (restarted is not null)
                {
                    Shutdown(restarted, graceful: false);
                    return;
                }

                foreach (long before in breakIns ?? [])
                {
                    BreakInReceived?.Invoke(this, new BreakInEventArgs(before));
                }

                if (closeRequested)
                {
                    Shutdown(new LinkClosedException($"{_transport.Description}: the peer closed the link."), graceful: true);
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Closing.
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or SocketException or InvalidOperationException or UnauthorizedAccessException)
        {
            Shutdown(new LinkClosedException($"{_transport.Description}: read failed: {ex.Message}", ex), graceful: false);
        }
    }

    /// <summary>Handles one valid frame; returns true for CLOSE; sets <paramref name="restarted"/> when the peer started a new session.</summary>
    private bool Handle(in Frame frame, long now, ref LinkClosedException? restarted)
    {
        if (frame.Type == FrameType.Reset)
        {
            restarted = OnReset(frame.Payload, now);
            return false;
        }

        // Only a frame carrying the session key passes the decoder's check, so the peer knows our nonce.
        Establish();
        if (_options.RequireAcknowledgements)
        {
            ProcessAck(frame.Ack, now);
        }

        switch (frame.Type)
        {
            case FrameType.Data:
                OnSequenced(frame);
                return false;
            case FrameType.Nak:
                _naksReceived++;
                OnReport(frame, isNak: true, now);
                return false;
            case FrameType.Ack:
                OnReport(frame, isNak: false, now);
                return false;
            case FrameType.Close:
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// RESET <c>[nonce, peer]</c>: the session handshake (docs/protocol/serial.md, "Sessions"). Before the session is
    /// established, a RESET addressed to nobody (peer 0) or to us names the candidate peer, and we answer with ours; one
    /// addressed to us establishes the session. A RESET addressed to another nonce is from an earlier session and is
    /// ignored. After the session is established, a new nonce addressed to nobody means the peer restarted.
    /// </summary>
    private LinkClosedException? OnReset(byte[] payload, long now)
    {
        if (payload.Length != ProtocolConstants.ResetPayloadLength)
        {
            return null;
        }

        uint nonce = BinaryPrimitives.ReadUInt32LittleEndian(payload);
        uint addressedTo = BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(sizeof(uint)));
        if (nonce == 0 || (addressedTo != 0 && addressedTo != _nonce))
        {
            _staleResets++;
            return null;
        }

        if (_isEstablished)
        {
            if (nonce == _peerNonce)
            {
                // The peer has not seen our answer yet: answer again (its resend is harmless otherwise).
                if (addressedTo == 0)
                {
                    SendReset(now);
                }

                return null;
            }

            return new LinkClosedException($"{_transport.Description}: the peer restarted (new session); reconnect.");
        }

        if (nonce != _peerNonce)
        {
            _peerNonce = nonce;
            _sessionState = SessionKey.CrcState(_nonce, nonce);
            _decoder.SessionState = _sessionState;
        }

        SendReset(now);
        if (addressedTo == _nonce)
        {
            Establish();
        }

        return null;
    }

    private void Establish()
    {
        if (_isEstablished)
        {
            return;
        }

        _isEstablished = true;
        _established.TrySetResult();
    }

    private void ProcessAck(byte ack, long now)
    {
        int advanced = (ack - _sendBase) & (ProtocolConstants.SequenceModulus - 1);
        if (advanced == 0 || advanced > _inFlight)
        {
            return;
        }

        // The newest frame this acknowledgement covers gives a round-trip sample, unless it was resent (Karn's rule:
        // the acknowledgement may be for either transmission).
        if (_slots[unchecked((byte)(ack - 1))] is SendSlot newest && !newest.Resent)
        {
            AddRoundTripSample(_clock.GetElapsedTime(newest.SentAt, now));
        }

        for (int k = 0; k < advanced; k++)
        {
            byte index = unchecked((byte)(_sendBase + k));
            SendSlot slot = _slots[index]!;
            _bytesInFlight -= FrameCodec.EncodedLength(slot.Payload.Length);
            if (!slot.Resent)
            {
                GrowFragments();
            }

            _slots[index] = null;
        }

        _sendBase = ack;
        _inFlight -= advanced;
        _window.Release(advanced);
    }

    private void OnSequenced(in Frame frame)
    {
        int distance = (frame.Sequence - _expected) & (ProtocolConstants.SequenceModulus - 1);
        if ((frame.Flags & ProtocolConstants.FlagAckFree) != 0)
        {
            // The peer does not resend: accept anything ahead, count the gap as lost.
            if (distance >= HalfSequenceSpace)
            {
                _duplicates++;
                return;
            }

            if (distance > 0)
            {
                _lost += distance;
                DropPartialMessage();
            }

            _expected = frame.Sequence;
            Deliver(frame);
            _expected++;
            return;
        }

        _reportPending = true;
        _receivedAny = true;
        _lastReceived = frame.Sequence;
        if (distance == 0)
        {
            Deliver(frame);
            _expected++;
            while (_reorder[_expected] is Frame next)
            {
                _reorder[_expected] = null;
                _buffered--;
                Deliver(next);
                _expected++;
            }
        }
        else if (distance < ProtocolConstants.MaxWindowSize && _reorder[frame.Sequence] is null)
        {
            _reorder[frame.Sequence] = frame;
            _buffered++;
            _nakNeeded = true;
        }
        else
        {
            _duplicates++;
        }
    }

    /// <summary>A fragment in order: appended to the message being reassembled; the message is delivered with its last fragment.</summary>
    private void Deliver(in Frame frame)
    {
        bool more = (frame.Flags & ProtocolConstants.FlagMoreFragments) != 0;
        bool continuation = (frame.Flags & ProtocolConstants.FlagContinuation) != 0;
        if (continuation != (_reassembly.Count > 0 || _discarding))
        {
            // A continuation without its start (its start was lost for good), or a start while a message was unfinished.
            bool orphan = continuation && _reassembly.Count == 0;
            DropPartialMessage();
            if (continuation)
            {
                _lostMessages += orphan ? 1 : 0;
                _discarding = more;
                return;
            }
        }

        if (_discarding)
        {
            _discarding = more;
            return;
        }

        if (!more && _reassembly.Count == 0)
        {
            _incoming.Writer.TryWrite(frame.Payload);
            _messagesDelivered++;
            return;
        }

        _reassembledBytes += frame.Payload.Length;
        if (_reassembledBytes > MaxMessage)
        {
            _oversizedMessages++;
            _reassembly.Clear();
            _reassembledBytes = 0;
            _discarding = more;
            return;
        }

        _reassembly.Add(frame.Payload);
        if (more)
        {
            return;
        }

        var message = new byte[_reassembledBytes];
        int at = 0;
        foreach (byte[] part in _reassembly)
        {
            part.CopyTo(message, at);
            at += part.Length;
        }

        _reassembly.Clear();
        _reassembledBytes = 0;
        _incoming.Writer.TryWrite(message);
        _messagesDelivered++;
    }

    private void DropPartialMessage()
    {
        if (_reassembly.Count > 0)
        {
            _lostMessages++;
        }

        _reassembly.Clear();
        _reassembledBytes = 0;
        _discarding = false;
    }

    /// <summary>Sends the pending ACK, or a NAK listing the holes when frames wait out of order.</summary>
    private void FlushControl(long now)
    {
        if (_buffered > 0 && (_nakNeeded || _clock.GetElapsedTime(_lastNak, now) >= _nakHoldoff))
        {
            // [last received, highest held, missing...]: see OnReport for how the sender uses it.
            var missing = new List<byte> { _lastReceived, 0 };
            int found = 0;
            for (int k = 0; k < HalfSequenceSpace && found < _buffered && missing.Count < MaxNakEntries + 2; k++)
            {
                byte seq = unchecked((byte)(_expected + k));
                if (_reorder[seq] is null)
                {
                    missing.Add(seq);
                }
                else
                {
                    found++;
                    missing[1] = seq;
                }
            }

            _nakNeeded = false;
            _probeNeeded = false;
            _lastNak = now;
            _naksSent++;
            WriteControl(FrameType.Nak, [.. missing], now);
            return;
        }

        if (_probeNeeded && _clock.GetElapsedTime(_lastNak, now) >= _nakHoldoff)
        {
            // Damaged bytes arrived: a frame was probably lost. A NAK naming the next expected frame lets the sender
            // resend it after a round trip instead of a timeout, even when no later frame arrived to reveal the gap.
            _probeNeeded = false;
            _lastNak = now;
            _naksSent++;
            WriteControl(FrameType.Nak, [_lastReceived, _expected, _expected], now);
            return;
        }

        if (_reportPending)
        {
            WriteControl(FrameType.Ack, [_lastReceived], now);
        }
    }

    /// <summary>Everything the decoder rejected so far: a change means bytes arrived damaged.</summary>
    private long Damage => _decoder.CrcErrors + _decoder.HeaderErrors + _decoder.GarbageBytes;
}
