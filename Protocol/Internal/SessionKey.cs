// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;

namespace HyperDbgRemote.Protocol.Internal;

/// <summary>
/// The identity of one link session: the two sides' RESET nonces. Every frame but RESET carries a CRC-32C that starts
/// from the state after the session key (the smaller nonce, then the larger, each 4 bytes little-endian), so a frame of
/// an earlier session still in a line's buffer fails the check and is dropped instead of being taken for a frame of the
/// new session (docs/protocol/serial.md, "Sessions").
/// </summary>
internal static class SessionKey
{
    /// <summary>The CRC-32C register after the key of the session between <paramref name="a"/> and <paramref name="b"/> (order does not matter).</summary>
    public static uint CrcState(uint a, uint b)
    {
        Span<byte> key = stackalloc byte[2 * sizeof(uint)];
        BinaryPrimitives.WriteUInt32LittleEndian(key, Math.Min(a, b));
        BinaryPrimitives.WriteUInt32LittleEndian(key[sizeof(uint)..], Math.Max(a, b));
        return Crc32C.Update(Crc32C.InitialState, key);
    }
}
