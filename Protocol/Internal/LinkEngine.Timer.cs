// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Protocol.Internal;

/// <summary>The timer on the injected clock: dead-peer and connect timeouts, resend timeouts, stalled frames, keep-alives.</summary>
internal sealed partial class LinkEngine
{
    /// <summary>Longest resend timeout the measurement may ask for.</summary>
    private const double MaxMeasuredTimeoutMs = 60_000;

    /// <summary>Largest factor by which timeouts back off while no round-trip sample arrives.</summary>
    private const int MaxBackoff = 8;

    /// <summary>Shortest gap between two resends of one frame a NAK asks for.</summary>
    private const double MinNakResendGapMs = 10;

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
            DiscountOwnStall(now);
            TimeSpan silence = _clock.GetElapsedTime(_lastReceive, now);
            if (!_isEstablished)
            {
                if (_options.ConnectTimeout != Timeout.InfiniteTimeSpan && ConnectingFor(now) >= _options.ConnectTimeout)
                {
                    dead = new LinkClosedException(
                        $"{_transport.Description}: no peer answered within {_options.ConnectTimeout.TotalMilliseconds:F0} ms; is the other side running and using the same line settings?");
                }
                else if (_clock.GetElapsedTime(_lastResetSent, now) >= _options.RetransmitTimeout)
                {
                    // The RESET is resent at a steady pace until the session is established.
                    SendReset(now);
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
            }

            if (dead is null && _isEstablished)
            {
                if (_inFlight > 0)
                {
                    TimeSpan timeout = RetransmitTimeout();
                    byte first = _sendBase;
                    int count = _inFlight;
                    bool timedOut = false;
                    for (int k = 0; k < count; k++)
                    {
                        timedOut |= ResendIfDue(unchecked((byte)(first + k)), now, timeout);
                    }

                    if (timedOut)
                    {
                        // RFC 6298 5.5: back off until an acknowledgement of a frame sent once gives a sample again, but
                        // never beyond 8x: a serial line has no congestion, and losses on a noisy one are repaired by
                        // NAKs at the pace of the round trip, not by timeouts.
                        _backoff = Math.Min(_backoff * 2, MaxBackoff);
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

    /// <summary>
    /// A tick that comes much later than its period means this process was not running its timers, and so not reading
    /// either (a starved thread pool, a stopped process, a suspended machine): the time it was not listening is not the
    /// peer's silence, so the dead-peer clock does not count it. Silence while the link's own timer ran on time still
    /// ends the link after <see cref="LinkOptions.DeadPeerTimeout"/>.
    /// </summary>
    private void DiscountOwnStall(long now)
    {
        TimeSpan sinceTick = _clock.GetElapsedTime(_lastTick, now);
        _lastTick = now;
        TimeSpan late = sinceTick - _tickPeriod;
        if (late >= _options.KeepAliveInterval)
        {
            long shift = (long)(late.TotalSeconds * _clock.TimestampFrequency);
            _lastReceive = Math.Min(now, _lastReceive + shift);
        }
    }

    /// <summary>How long the link has been trying to establish its session.</summary>
    private TimeSpan ConnectingFor(long now) => _clock.GetElapsedTime(_createdAt, now);

    /// <summary>How long a NAK must find a frame still missing after its latest transmission before it is resent
    /// again: the measured round trip plus twice its variation (a round trip's worth of the configured timeout before
    /// the first sample), never less than <see cref="MinNakResendGapMs"/>.</summary>
    private TimeSpan RoundTripEstimate() =>
        TimeSpan.FromMilliseconds(Math.Max(
            MinNakResendGapMs,
            _smoothedRoundTripMs < 0 ? _options.RetransmitTimeout.TotalMilliseconds / 2 : _smoothedRoundTripMs + (2 * _roundTripVariationMs)));

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

        int rate = LineRate;
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
            LinkClosedException? restarted = null;
            if (!item.IsBreakIn && Handle(item.Frame, now, ref restarted))
            {
                _closeRequested = true;
            }

            if (restarted is not null)
            {
                _fault ??= restarted;
                _closeRequested = true;
            }
        }
    }

    /// <summary>
    /// The resend timeout: the configured one, plus the line time of the bytes in flight on a line of known speed, and
    /// never less than the measured round trip plus the larger of four times its variation and a quarter of the
    /// configured timeout (RFC 6298's SRTT + max(G, 4·RTTVAR), with G a quarter of the configured timeout: 62 ms by
    /// default; the whole timeout as G doubled the recovery time of a line with a bit-error rate of 1e-3). The measurement covers what the
    /// formula cannot see: bytes waiting in the operating system's and the line's buffers, and a slow peer; G keeps a
    /// steady round trip (variation near zero) from being resent at the first scheduling hiccup.
    /// </summary>
    private TimeSpan RetransmitTimeout()
    {
        int rate = LineRate;
        TimeSpan configured = rate <= 0
            ? _options.RetransmitTimeout
            : _options.RetransmitTimeout + TimeSpan.FromMilliseconds((double)_bytesInFlight * MillisecondsPerSecond / rate);
        double measured = _smoothedRoundTripMs < 0
            ? 0
            : _smoothedRoundTripMs + Math.Max(_options.RetransmitTimeout.TotalMilliseconds / 4, 4 * _roundTripVariationMs);
        double timeout = Math.Max(configured.TotalMilliseconds, measured) * _backoff;
        return TimeSpan.FromMilliseconds(Math.Min(timeout, Math.Max(MaxMeasuredTimeoutMs, configured.TotalMilliseconds)));
    }

    /// <summary>Updates the smoothed round trip with one sample (RFC 6298, section 2).</summary>
    private void AddRoundTripSample(TimeSpan sample)
    {
        double r = sample.TotalMilliseconds;
        _backoff = 1;
        if (_smoothedRoundTripMs < 0)
        {
            _smoothedRoundTripMs = r;
            _roundTripVariationMs = r / 2;
            return;
        }

        _roundTripVariationMs = (0.75 * _roundTripVariationMs) + (0.25 * Math.Abs(_smoothedRoundTripMs - r));
        _smoothedRoundTripMs = (0.875 * _smoothedRoundTripMs) + (0.125 * r);
    }
}
