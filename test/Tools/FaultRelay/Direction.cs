// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.FaultRelay;

/// <summary>One direction of the relay: reads chunks from one device, damages them as configured, writes them to the other.</summary>
internal sealed class Direction
{
    private readonly Stream _from;
    private readonly Stream _to;
    private readonly RelayOptions _options;
    private readonly RelayGate _gate;
    private readonly Random _random;
    private long _bitsUntilFlip;

    public Direction(Stream from, Stream to, RelayOptions options, RelayGate gate, int seed)
    {
        _from = from;
        _to = to;
        _options = options;
        _gate = gate;
        _random = new Random(seed);
        _bitsUntilFlip = NextFlipDistance();
    }

    public long BytesIn;
    public long BytesOut;
    public long BitsFlipped;
    public long BytesDropped;
    public long Duplicates;
    public long GarbageBursts;
    public long Stalls;
    public long BytesCut;

    public async Task RunAsync(CancellationToken stop)
    {
        var buffer = new byte[4096];
        while (!stop.IsCancellationRequested)
        {
            int n = await _from.ReadAsync(buffer, stop).ConfigureAwait(false);
            if (n == 0)
            {
                return;
            }

            Interlocked.Add(ref BytesIn, n);
            await _gate.WaitWhileFrozenAsync(stop).ConfigureAwait(false);
            if (_gate.IsCut)
            {
                Interlocked.Add(ref BytesCut, n);
                continue;
            }

            byte[] chunk = Damage(buffer.AsSpan(0, n));
            if (_options.StallRate > 0 && _random.NextDouble() < _options.StallRate)
            {
                Interlocked.Increment(ref Stalls);
                await Task.Delay(_options.StallMilliseconds, stop).ConfigureAwait(false);
            }

            if (_options.GarbageRate > 0 && _random.NextDouble() < _options.GarbageRate)
            {
                var garbage = new byte[_random.Next(1, 17)];
                _random.NextBytes(garbage);
                Interlocked.Increment(ref GarbageBursts);
                await WriteAsync(garbage, stop).ConfigureAwait(false);
            }

            await WriteAsync(chunk, stop).ConfigureAwait(false);
            if (_options.DuplicateRate > 0 && _random.NextDouble() < _options.DuplicateRate)
            {
                Interlocked.Increment(ref Duplicates);
                await WriteAsync(chunk, stop).ConfigureAwait(false);
            }
        }
    }

    private async Task WriteAsync(byte[] data, CancellationToken stop)
    {
        if (data.Length == 0)
        {
            return;
        }

        await _to.WriteAsync(data, stop).ConfigureAwait(false);
        await _to.FlushAsync(stop).ConfigureAwait(false);
        Interlocked.Add(ref BytesOut, data.Length);
    }

    /// <summary>Drops bytes and flips bits; bit errors are placed by geometric distances, so a rate of 1e-3 costs nothing per byte.</summary>
    private byte[] Damage(ReadOnlySpan<byte> input)
    {
        var output = new List<byte>(input.Length);
        foreach (byte original in input)
        {
            if (_options.DropRate > 0 && _random.NextDouble() < _options.DropRate)
            {
                Interlocked.Increment(ref BytesDropped);
                continue;
            }

            byte b = original;
            if (_options.BitErrorRate > 0)
            {
                for (int bit = 0; bit < 8; bit++)
                {
                    if (--_bitsUntilFlip <= 0)
                    {
                        b ^= (byte)(1 << bit);
                        Interlocked.Increment(ref BitsFlipped);
                        _bitsUntilFlip = NextFlipDistance();
                    }
                }
            }

            output.Add(b);
        }

        return [.. output];
    }

    private long NextFlipDistance()
    {
        if (_options.BitErrorRate <= 0)
        {
            return long.MaxValue;
        }

        double u = 1.0 - _random.NextDouble();
        return 1 + (long)Math.Floor(Math.Log(u) / Math.Log(1.0 - _options.BitErrorRate));
    }
}
