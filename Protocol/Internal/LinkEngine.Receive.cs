// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using System.Net.Sockets;

namespace HyperDbgRemote.Protocol.Internal;

/// <summary>Receiving side: decode, acknowledge, reorder, deliver, request missing frames.</summary>
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
                int breakIns = 0;
                bool closeRequested = false;
                lock (_gate)
                {
                    _decoder.Feed(buffer.AsSpan(0, n), items);
                    long now = _clock.GetTimestamp();
                    if (items.Count > 0 || _decoder.IsInsideFrame)
                    {
                        _lastReceive = now;
                        _peerSeen |= _decoder.Frames > 0;
                    }

                    foreach (DecodedItem item in items)
                    {
                        if (item.IsBreakIn)
                        {
                            breakIns++;
                        }
                        else
                        {
                            closeRequested |= Handle(item.Frame, now);
                        }
                    }

                    if (!_stop.IsCancellationRequested)
                    {
                        FlushControl(now);
                    }
                }

                for (int i = 0; i < breakIns; i++)
                {
                    BreakInReceived?.Invoke(this, EventArgs.Empty);
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

    /// <summary>Handles one valid frame; returns true for CLOSE.</summary>
    private bool Handle(in Frame frame, long now)
    {
        if (_options.RequireAcknowledgements)
        {
            ProcessAck(frame.Ack, now);
        }

        switch (frame.Type)
        {
            case FrameType.Data:
            case FrameType.Reset:
                OnSequenced(frame);
                return false;
            case FrameType.Nak:
                _naksReceived++;
                OnReport(frame.Payload, isNak: true, now);
                return false;
            case FrameType.Ack:
                OnReport(frame.Payload, isNak: false, now);
                return false;
            case FrameType.Close:
                return true;
            default:
                return false;
        }
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
            _bytesInFlight -= FrameCodec.EncodedLength(_slots[index]!.Payload.Length);
            _slots[index] = null;
        }

        _sendBase = ack;
        _inFlight -= advanced;
        _window.Release(advanced);
    }

    private void OnSequenced(in Frame frame)
    {
        if (frame.Type == FrameType.Reset)
        {
            if (frame.Payload.Length != ProtocolConstants.ResetPayloadLength)
            {
                return;
            }

            uint nonce = BinaryPrimitives.ReadUInt32LittleEndian(frame.Payload);
            if (_peerNonce is uint known && known != nonce)
            {
                // A new session from a peer we knew: its sequence numbers restarted, so this link cannot continue.
                _fault = new LinkClosedException($"{_transport.Description}: the peer restarted (new session); reconnect.");
                _ = Task.Run(() => Shutdown((LinkClosedException)_fault, graceful: false));
                return;
            }
        }

        int distance = (frame.Sequence - _expected) & (ProtocolConstants.SequenceModulus - 1);
        if ((frame.Flags & ProtocolConstants.FlagAckFree) != 0)
        {
            // The peer does not resend: accept anything ahead, count the gap as lost.
            if (distance >= HalfSequenceSpace)
            {
                _duplicates++;
                return;
            }

            _lost += distance;
            _expected = frame.Sequence;
            Deliver(frame);
            _expected++;
            return;
        }

        _reportPending = true;
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

    private void Deliver(in Frame frame)
    {
        if (frame.Type == FrameType.Reset)
        {
            _peerNonce = BinaryPrimitives.ReadUInt32LittleEndian(frame.Payload);
            return;
        }

        _incoming.Writer.TryWrite(frame.Payload);
        _messagesDelivered++;
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
            _lastNak = now;
            _naksSent++;
            WriteControl(FrameType.Nak, [.. missing], now);
            return;
        }

        if (_reportPending)
        {
            WriteControl(FrameType.Ack, [_lastReceived], now);
        }
    }
}
