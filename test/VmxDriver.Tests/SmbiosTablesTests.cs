// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using System.Text;
using HyperDbgRemote.VmxDriver.Devices;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// Our fw_cfg's "etc/e820" and SMBIOS files against what QEMU 7.2 (Debian's 1:7.2+dfsg-7) hands SeaBIOS for
/// <c>-M pc -cpu qemu64 -m 256</c>, read back byte by byte with <c>-global fw_cfg_io.dma_enabled=off -trace fw_cfg_read</c>.
/// </summary>
public sealed class SmbiosTablesTests
{
    private const ulong Ram = 256UL * 1024 * 1024;

    private static readonly byte[] s_qemuTables = Convert.FromHexString(
        "011b0001010203000000000000000000000000000000000006000051454d55005374616e646172642050432028693434" +
        "304658202b20504949582c2031393936290070632d6934343066782d372e320000031600030101020000030303020000" +
        "0000000000000051454d550070632d6934343066782d372e320000042a000401030102b10f0600fdfb8b0703000000d0" +
        "07d0074101ffffffffffff0000000101010200010043505520300051454d550070632d6934343066782d372e32000010" +
        "17001001030600000400feff010000000000000000000000112800110010feffffffffff000109000100070200000002" +
        "0000000000000000000000000000000044494d4d20300051454d550000131f001300000000ffff030000100100000000" +
        "0000000000000000000000000000200b00200000000000000000007f04007f0000");

    private static readonly byte[] s_qemuAnchor = Convert.FromHexString("5f534d5f001f020851000000000000005f444d495f00410100000000080028");

    private static readonly byte[] s_qemuE820 = Convert.FromHexString("00000000fd0000000000000003000000020000000000000000000000000000100000000001000000");

    /// <summary>Where the type 4 structure's processor ID (CPUID leaf 1 EAX, EDX) is in QEMU's tables.</summary>
    private const int ProcessorId = 123 + 8;

    private static byte[] File(FwCfg fw, string name)
    {
        fw.WriteWord(0x510, FwCfg.KeyFileDirectory);
        byte[] Next(int n) => [.. Enumerable.Range(0, n).Select(_ => fw.ReadByte(0x511))];
        int count = (int)BinaryPrimitives.ReadUInt32BigEndian(Next(4));
        for (int i = 0; i < count; i++)
        {
            byte[] e = Next(64);
            if (Encoding.ASCII.GetString(e, 8, 56).TrimEnd('\0') == name)
            {
                fw.WriteWord(0x510, BinaryPrimitives.ReadUInt16BigEndian(e.AsSpan(4)));
                return Next((int)BinaryPrimitives.ReadUInt32BigEndian(e));
            }
        }

        throw new AssertionException($"fw_cfg has no file '{name}'");
    }

    [Test]
    public void FwCfg_E820AndSmbiosFiles_AreQemu72s_ButForOurCpusProcessorId()
    {
        var fw = new FwCfg(Ram, 1);

        byte[] tables = File(fw, SmbiosTables.TablesFile);
        byte[] expected = (byte[])s_qemuTables.Clone();
        tables.AsSpan(ProcessorId, 8).CopyTo(expected.AsSpan(ProcessorId));

        Assert.That(File(fw, "etc/e820"), Is.EqualTo(s_qemuE820), "the AMD HyperTransport range reserved, then the RAM");
        Assert.That(tables, Is.EqualTo(expected));
        Assert.That(File(fw, SmbiosTables.AnchorFile), Is.EqualTo(s_qemuAnchor));
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(tables.AsSpan(ProcessorId)), Is.EqualTo(0x663u), "our CPU's signature (family 6 model 6 stepping 3), not QEMU's host-dependent one");
    }

    [Test]
    public void Build_TwoCoresAndMoreThan16GiB_OneProcessorPerCoreAndOneDimmPer16GiB()
    {
        (byte[] tables, byte[] anchor) = SmbiosTables.Build(20UL << 30, 2);

        List<(byte Type, ushort Handle)> structures = [];
        for (int i = 0; i < tables.Length;)
        {
            structures.Add((tables[i], BinaryPrimitives.ReadUInt16LittleEndian(tables.AsSpan(i + 2))));
            int end = tables.AsSpan(i + tables[i + 1]).IndexOf((byte[])[0, 0]);
            i += tables[i + 1] + end + 2;
        }

        Assert.That(structures, Is.EqualTo(new (byte, ushort)[]
        {
            (1, 0x100), (3, 0x300), (4, 0x400), (4, 0x401), (16, 0x1000), (17, 0x1100), (17, 0x1101), (19, 0x1300), (32, 0x2000), (127, 0x7F00),
        }));
        Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(anchor.AsSpan(0x1C)), Is.EqualTo(10), "the structure count");
        Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(anchor.AsSpan(0x16)), Is.EqualTo(tables.Length));
        Assert.That(() => SmbiosTables.Build(0, 1), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }
}
