// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;
using HyperDbgRemote.Protocol.Internal;

namespace HyperDbgRemote.Protocol.Tests;

public sealed class ChecksumTests
{
    private static readonly byte[] s_check = Encoding.ASCII.GetBytes("123456789");

    [Test]
    public void Crc32C_CheckString_IsCastagnoliCheckValue() =>
        Assert.That(Crc32C.Compute(s_check), Is.EqualTo(0xE3069283u));

    [Test]
    public void Crc32C_LongInput_MatchesBytewiseReference()
    {
        // Arrange: a bitwise reference (reflected polynomial 0x82F63B78)
        var data = new byte[1000];
        new Random(7).NextBytes(data);
        uint reference = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            reference ^= b;
            for (int i = 0; i < 8; i++)
            {
                reference = (reference & 1) != 0 ? (reference >> 1) ^ 0x82F63B78u : reference >> 1;
            }
        }

        // Act / Assert
        Assert.That(Crc32C.Compute(data), Is.EqualTo(~reference));
    }

    [Test]
    public void Crc8_CheckString_IsSmbusCheckValue() =>
        Assert.That(Crc8.Compute(s_check), Is.EqualTo((byte)0xF4));
}
