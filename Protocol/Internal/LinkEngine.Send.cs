// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using System.Net.Sockets;

namespace HyperDbgRemote.Protocol.Internal;

/// <summary>Sending side: the session handshake, the write queue, resends, fragment sizing and shutdown.</summary>
internal sealed partial class LinkEngine
{
    /// <summary>First transmissions acknowledged in a row before a paced line's fragments grow by an eighth.</summary>
    private const int CleanFramesToGrow = 16;

    /// <summary>RESET: our nonce, and the peer's as we know it (0 while unknown). Not sequenced; sent until established.</summary>
    private void SendReset(long now)
    {
        var payload = new byte[ProtocolConstants.ResetPayloadLength];
        BinaryPrimitives.WriteUInt32LittleEndian(payload, _nonce);
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(sizeof(uint)), _peerNonce);
        _lastResetSent = now;
        Write(FrameCodec.Encode(FrameType.Reset, _flags, 0, 0, payload), now);
    }

    private void EnqueueSequenced(byte flags, byte[] payload)
    {
        byte sequence = _nextSequence++;
        long now = _clock.GetTimestamp();
        if (_options.RequireAcknowledgements)
        {
            _slots[sequence] = new SendSlot(flags, payload, now, ++_sendCounter);
            _sendNumbers[sequence] = _sendCounter;
            _inFlight++;
            _bytesInFlight += FrameCodec.EncodedLength(payload.Length);
        }

        Write(FrameCodec.Encode(FrameType.Data, flags, sequence, _expected, payload, _sessionState), now);
    }

    private void WriteControl(FrameType type, byte[] payload, long now)
    {
        if (!_isEstablished && _peerNonce == 0)
        {
            return; // no session key yet: the peer could not check the frame
        }

        if (type is FrameType.Ack or FrameType.Nak)
        {
            _reportPending = false;
        }

        Write(FrameCodec.Encode(type, _flags, 0, _expected, payload, _sessionState), now);
    }

    private void Write(byte[] frame, long now)
    {
        // Every frame carries the cumulative acknowledgement, so a pending ACK is satisfied by any frame.
        _lastSend = now;
        _outgoing.Writer.TryWrite(frame);
    }

    /// <summary>Resends a frame in flight that is at least <paramref name="minimumAge"/> old; true when it did.</summary>
    private bool ResendIfDue(byte sequence, long now, TimeSpan minimumAge)
    {
        int offset = (sequence - _sendBase) & (ProtocolConstants.SequenceModulus - 1);
        if (offset >= _inFlight || _slots[sequence] is not SendSlot slot || _clock.GetElapsedTime(slot.SentAt, now) < minimumAge)
        {
            return false;
        }

        if (slot.Held)
        {
            return false;
        }

        if (!slot.Resent)
        {
            // The first loss of a frame: on a paced line, cut later frames smaller (the error rate is too high for this
            // size). Frames already in flight keep their size.
            ShrinkFragments();
        }

        slot.SentAt = now;
        slot.Resent = true;
        slot.SendNumber = ++_sendCounter;
        _sendNumbers[sequence] = _sendCounter;
        _retransmissions++;
        Write(FrameCodec.Encode(FrameType.Data, slot.Flags, sequence, _expected, slot.Payload, _sessionState), now);
        return true;
    }

    /// <summary>A lost frame: a paced line's fragments shrink by half (down to <see cref="ProtocolConstants.PacedMinFragment"/>).</summary>
    private void ShrinkFragments()
    {
        _cleanFrames = 0;
        if (LineRate > 0)
        {
            _fragmentSize = Math.Max(ProtocolConstants.PacedMinFragment, _fragmentSize / 2);
        }
    }

    /// <summary>A frame acknowledged on its first transmission: after a run of them, a paced line's fragments grow by an eighth.</summary>
    private void GrowFragments()
    {
        if (LineRate > 0 && ++_cleanFrames >= CleanFramesToGrow)
        {
            _cleanFrames = 0;
            _fragmentSize = Math.Min(MaxFragment, _fragmentSize + Math.Max(1, _fragmentSize / 8));
        }
    }

    /// <summary>
    /// ACK payload: <c>[last]</c>, the sequence number of the latest sequenced frame the peer received (even a duplicate).
    /// NAK payload: <c>[last, highest held, missing...]</c>. Frames between the cumulative acknowledgement and the highest
    /// held that are not listed missing are held by the peer and never resent. Every other frame in flight whose latest
    /// transmission preceded that of <c>last</c> was provably lost (the line keeps order) and is resent at once. A frame a
    /// NAK still lists missing a round trip after its latest transmission was lost again (the NAK was written after the
    /// resend should have arrived) and is resent too, so a resend that is itself lost costs a round trip, not a timeout.
    /// A report whose cumulative acknowledgement is older than one already processed is stale (the line delivered a copy
    /// late, e.g. a relay that wrote a chunk twice) and is ignored: the receiver has moved on since, and its old "highest
    /// held" would mark frames sent after it as held, which are then never resent.
    /// </summary>
    private void OnReport(in Frame report, bool isNak, long now)
    {
        byte[] payload = report.Payload;
        if (payload.Length == 0 || report.Ack != _sendBase)
        {
            return;
        }

        long lastNumber = _sendNumbers[payload[0]];
        ReadOnlySpan<byte> missing = isNak && payload.Length >= 2 ? payload.AsSpan(2) : [];
        if (isNak && payload.Length >= 2)
        {
            int highestOffset = (payload[1] - _sendBase) & (ProtocolConstants.SequenceModulus - 1);
            for (int k = 0; k <= highestOffset && k < _inFlight; k++)
            {
                byte seq = unchecked((byte)(_sendBase + k));
                if (_slots[seq] is SendSlot held && !missing.Contains(seq))
                {
                    held.Held = true;
                }
            }
        }

        TimeSpan roundTrip = RoundTripEstimate();
        int count = _inFlight;
        byte first = _sendBase;
        for (int k = 0; k < count; k++)
        {
            byte seq = unchecked((byte)(first + k));
            if (_slots[seq] is not SendSlot slot)
            {
                continue;
            }

            if (slot.SendNumber < lastNumber)
            {
                ResendIfDue(seq, now, TimeSpan.Zero);
            }
            else if (missing.Contains(seq))
            {
                ResendIfDue(seq, now, roundTrip);
            }
        }
    }

    private async Task WriteLoopAsync()
    {
        var batch = new byte[WriteBatchBytes];
        try
        {
            while (await _outgoing.Reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                int length = 0;
                int frames = 0;
                while (_outgoing.Reader.TryRead(out byte[]? item))
                {
                    if (length + item.Length > batch.Length)
                    {
                        await FlushAsync(batch, length, frames).ConfigureAwait(false);
                        length = frames = 0;
                    }

                    if (item.Length > batch.Length)
                    {
                        await FlushAsync(item, item.Length, 1).ConfigureAwait(false);
                        continue;
                    }

                    item.CopyTo(batch, length);
                    length += item.Length;
                    frames += item.Length > 1 ? 1 : 0;
                }

                await FlushAsync(batch, length, frames).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Closing.
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or SocketException or InvalidOperationException or UnauthorizedAccessException or TimeoutException)
        {
            Shutdown(new LinkClosedException($"{_transport.Description}: write failed: {ex.Message}", ex), graceful: false);
        }
    }

    private async ValueTask FlushAsync(byte[] data, int length, int frames)
    {
        if (length == 0)
        {
            return;
        }

        await _transport.WriteAsync(data.AsMemory(0, length), _stop.Token).ConfigureAwait(false);
        Interlocked.Add(ref _bytesSent, length);
        Interlocked.Add(ref _framesSent, frames);
    }

    private void Shutdown(LinkClosedException reason, bool graceful)
    {
        lock (_gate)
        {
            if (_stop.IsCancellationRequested)
            {
                return;
            }

            _fault ??= reason;
        }

        _stop.Cancel();
        _timer.Dispose();
        _outgoing.Writer.TryComplete();
        _incoming.Writer.TryComplete(_fault);
        _established.TrySetException(_fault);
        _ = _established.Task.Exception; // observed: a link that never established is not an unobserved fault
        if (graceful)
        {
            _completion.TrySetResult();
        }
        else
        {
            _completion.TrySetException(_fault);
            _ = _transport.CloseAsync().AsTask();
        }
    }
}
