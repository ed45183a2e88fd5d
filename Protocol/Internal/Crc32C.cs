// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using System.Numerics;

namespace HyperDbgRemote.Protocol.Internal;

/// <summary>CRC-32C (Castagnoli, reflected, init and xor-out all ones; check value of "123456789" is 0xE3069283).</summary>
/// <remarks>System.IO.Hashing is not part of the shared framework, so this uses <see cref="BitOperations.Crc32C(uint, ulong)"/>
/// (SSE4.2 / ARMv8 CRC where present).</remarks>
internal static class Crc32C
{
    /// <summary>The register's initial value: the state of a CRC over no bytes.</summary>
    public const uint InitialState = 0xFFFF_FFFF;

    public static uint Compute(ReadOnlySpan<byte> data) => Compute(InitialState, data);

    /// <summary>The CRC of <paramref name="data"/> continued from <paramref name="state"/> (a state from <see cref="Update"/>).</summary>
    public static uint Compute(uint state, ReadOnlySpan<byte> data) => ~Update(state, data);

    /// <summary>The register after <paramref name="data"/>, starting from <paramref name="state"/> (not finalised).</summary>
    public static uint Update(uint state, ReadOnlySpan<byte> data)
    {
        uint crc = state;
        while (data.Length >= sizeof(ulong))
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[sizeof(ulong)..];
        }

        foreach (byte b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc;
    }
}
