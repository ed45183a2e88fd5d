// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Protocol.Tests.Support;

/// <summary>Seeded line faults applied to each write: bit flips at a bit error rate, dropped bytes, duplicated writes, garbage bursts.</summary>
internal sealed class FaultInjector(int seed)
{
    private const int MaxGarbage = 48;
    private readonly Random _random = new(seed);
    private long _bitsUntilError = -1;

    public double BitErrorRate { get; init; }

    public double ByteDropRate { get; init; }

    public double DuplicateRate { get; init; }

    public double GarbageRate { get; init; }

    public long BitsFlipped { get; private set; }

    public long BytesDropped { get; private set; }

    public long Duplicates { get; private set; }

    public long GarbageBursts { get; private set; }

    public List<byte[]> Apply(ReadOnlySpan<byte> data)
    {
        var chunks = new List<byte[]>();
        lock (_random)
        {
            if (GarbageRate > 0 && _random.NextDouble() < GarbageRate)
            {
                var garbage = new byte[_random.Next(1, MaxGarbage)];
                _random.NextBytes(garbage);
                chunks.Add(garbage);
                GarbageBursts++;
            }

            var bytes = new List<byte>(data.Length);
            foreach (byte b in data)
            {
                if (ByteDropRate > 0 && _random.NextDouble() < ByteDropRate)
                {
                    BytesDropped++;
                    continue;
                }

                bytes.Add(Flip(b));
            }

            chunks.Add([.. bytes]);
            if (DuplicateRate > 0 && _random.NextDouble() < DuplicateRate)
            {
                chunks.Add([.. bytes]);
                Duplicates++;
            }
        }

        return chunks;
    }

    private byte Flip(byte b)
    {
        if (BitErrorRate <= 0)
        {
            return b;
        }

        for (int bit = 0; bit < 8; bit++)
        {
            if (_bitsUntilError < 0)
            {
                // Geometric gap between bit errors.
                _bitsUntilError = (long)Math.Floor(Math.Log(1 - _random.NextDouble()) / Math.Log(1 - BitErrorRate));
            }

            if (_bitsUntilError == 0)
            {
                b ^= (byte)(1 << bit);
                BitsFlipped++;
            }

            _bitsUntilError--;
        }

        return b;
    }
}
