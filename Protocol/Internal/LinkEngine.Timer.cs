// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Protocol.Internal;

/// <summary>The timer on the injected clock: dead-peer and connect timeouts, resend timeouts, stalled frames, keep-alives.</summary>
internal sealed partial class LinkEngine
{
    private void OnTick()
    {
        LinkClosedException? dead = null;
        lock (_gate)
        {
            if (_stop.IsCancellationRequested)
            {
                return;
            }

            long now = _clock.GetTimestamp();
            TimeSpan silence = _clock.GetElapsedTime(_lastReceive, now);
            if (!_peerSeen)
            {
                if (_options.ConnectTimeout != Timeout.InfiniteTimeSpan && silence >= _options.ConnectTimeout)
                {
                    dead = new LinkClosedException(
                        $"{_transport.Description}: no peer answered within {_options.ConnectTimeout.TotalMilliseconds:F0} ms; is the other side running and using the same line settings?");
                }
            }
            else if (silence >= _options.DeadPeerTimeout)
            {
                dead = new LinkClosedException(
                    $"{_transport.Description}: nothing received from the peer for {silence.TotalMilliseconds:F0} ms (limit {_options.DeadPeerTimeout.TotalMilliseconds:F0} ms); the peer is considered dead.");
            }

            if (dead is null)
            {
                AbandonStalledFrame(now);
                if (_inFlight > 0)
                {
                    TimeSpan timeout = RetransmitTimeout();
                    byte first = _sendBase;
                    int count = _inFlight;
                    for (int k = 0; k < count; k++)
                    {
                        ResendIfDue(unchecked((byte)(first + k)), now, timeout);
                    }
                }

                FlushControl(now);
                if (_clock.GetElapsedTime(_lastSend, now) >= _options.KeepAliveInterval)
                {
                    _keepAlives++;
                    WriteControl(FrameType.KeepAlive, [], now);
                }
            }
        }

        if (dead is not null)
        {
            Shutdown(dead, graceful: false);
        }
        else if (_closeRequested)
        {
            Shutdown(new LinkClosedException($"{_transport.Description}: the peer closed the link."), graceful: true);
        }
    }

    private void AbandonStalledFrame(long now)
    {
        if (!_decoder.IsInsideFrame)
        {
            return;
        }

        if (_decoder.PartialFrames != _partialFrameId)
        {
            _partialFrameId = _decoder.PartialFrames;
            _partialFrameSince = now;
            return;
        }

        int rate = _options.BytesPerSecond > 0 ? _options.BytesPerSecond : _transport.BytesPerSecond;
        TimeSpan allowed = _options.RetransmitTimeout + (rate > 0 ? TimeSpan.FromMilliseconds((double)_decoder.PartialFrameLength * MillisecondsPerSecond / rate) : TimeSpan.Zero);
        if (_clock.GetElapsedTime(_partialFrameSince, now) < allowed)
        {
            return;
        }

        var items = new List<DecodedItem>();
        _decoder.AbandonPartialFrame(items);
        foreach (DecodedItem item in items)
        {
            // Break-ins cannot come out of a re-scan: the decoder is hunting after the rejection.
            if (!item.IsBreakIn && Handle(item.Frame, now))
            {
                _closeRequested = true;
            }
        }
    }

    private TimeSpan RetransmitTimeout()
    {
        int rate = _options.BytesPerSecond > 0 ? _options.BytesPerSecond : _transport.BytesPerSecond;
        return rate <= 0
            ? _options.RetransmitTimeout
            : _options.RetransmitTimeout + TimeSpan.FromMilliseconds((double)_bytesInFlight * MillisecondsPerSecond / rate);
    }
}
