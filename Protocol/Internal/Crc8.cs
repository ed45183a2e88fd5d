// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Protocol.Internal;

/// <summary>CRC-8/SMBUS (polynomial 0x07, init 0, no reflection; check value of "123456789" is 0xF4): the header check.</summary>
internal static class Crc8
{
    private static readonly byte[] s_table = BuildTable();

    public static byte Compute(ReadOnlySpan<byte> data)
    {
        byte crc = 0;
        foreach (byte b in data)
        {
            crc = s_table[crc ^ b];
        }

        return crc;
    }

    private static byte[] BuildTable()
    {
        const int TableSize = 256;
        const int HighBit = 0x80;
        var table = new byte[TableSize];
        for (int i = 0; i < TableSize; i++)
        {
            int c = i;
            for (int bit = 0; bit < 8; bit++)
            {
                c = (c & HighBit) != 0 ? (c << 1) ^ ProtocolConstants.HeaderCrcPolynomial : c << 1;
            }

            table[i] = (byte)c;
        }

        return table;
    }
}
