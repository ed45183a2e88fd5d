// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using System.Text;
using HyperDbgRemote.VmxDriver.Guests;

namespace HyperDbgRemote.VmxDriver.Tests.Linux;

public sealed class MpTableTests
{
    private static byte Sum(ReadOnlySpan<byte> bytes)
    {
        byte sum = 0;
        foreach (byte b in bytes)
        {
            sum += b;
        }

        return sum;
    }

    [Test]
    public void Build_TwoCores_FloatingPointerAndConfigurationTableAsSeaBiosGivesThem()
    {
        // Act
        byte[] t = MpTable.Build(2, 0x663, 0x078B_FBFD);
        ReadOnlySpan<byte> floating = t.AsSpan(0, 16);
        ReadOnlySpan<byte> config = t.AsSpan(16);
        int length = BinaryPrimitives.ReadUInt16LittleEndian(config[4..]);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(config[34..]);

        // Assert: the floating pointer.
        Assert.That(Encoding.ASCII.GetString(floating[..4]), Is.EqualTo("_MP_"));
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(floating[4..]), Is.EqualTo((uint)MpTable.ConfigurationAddress));
        Assert.That((floating[8], floating[9], floating[11]), Is.EqualTo(((byte)1, (byte)4, (byte)0)), "16 bytes, spec 1.4, a configuration table follows");
        Assert.That(Sum(floating), Is.Zero, "the floating pointer's checksum");

        // The header.
        Assert.That(Encoding.ASCII.GetString(config[..4]), Is.EqualTo("PCMP"));
        Assert.That(length, Is.EqualTo(config.Length));
        Assert.That(Sum(config[..length]), Is.Zero, "the configuration table's checksum");
        Assert.That(Encoding.ASCII.GetString(config.Slice(8, 20)), Is.EqualTo("BOCHSCPU0.1         "));
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(config[36..]), Is.EqualTo(0xFEE0_0000u));

        // The entries: 2 processors, 2 buses, the I/O APIC, 11 ISA interrupts, 2 local interrupts.
        Assert.That(count, Is.EqualTo(18));
        ReadOnlySpan<byte> e = config[44..];
        Assert.That(e[..4].ToArray(), Is.EqualTo(new byte[] { 0, 0, 0x14, 3 }), "CPU 0: APIC ID 0, version 0x14, enabled, BSP");
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(e[4..]), Is.EqualTo(0x663u));
        Assert.That(e.Slice(20, 4).ToArray(), Is.EqualTo(new byte[] { 0, 1, 0x14, 1 }), "CPU 1: APIC ID 1, enabled");
        e = e[40..];
        Assert.That(Encoding.ASCII.GetString(e.Slice(2, 6)) + Encoding.ASCII.GetString(e.Slice(10, 6)), Is.EqualTo("PCI   ISA   "));
        Assert.That(e.Slice(16, 8).ToArray(), Is.EqualTo(new byte[] { 2, 0, 0x11, 1, 0x00, 0x00, 0xC0, 0xFE }), "the I/O APIC");
        e = e[24..];
        var isa = new List<(int Irq, int Pin)>();
        for (int i = 0; i < 11; i++)
        {
            ReadOnlySpan<byte> x = e.Slice(i * 8, 8);
            Assert.That((x[0], x[1], x[4], x[6]), Is.EqualTo(((byte)3, (byte)0, MpTable.IsaBusId, MpTable.IoApicId)));
            isa.Add((x[5], x[7]));
        }

        Assert.That(isa, Is.EqualTo(new[] { (0, 2), (1, 1), (3, 3), (4, 4), (6, 6), (7, 7), (8, 8), (12, 12), (13, 13), (14, 14), (15, 15) }));
        Assert.That(e.Slice(88, 8).ToArray(), Is.EqualTo(new byte[] { 4, 3, 0, 0, 1, 0, 0, 0 }), "ExtINT on the BSP's LINT0");
        Assert.That(e.Slice(96, 8).ToArray(), Is.EqualTo(new byte[] { 4, 1, 0, 0, 1, 0, 0xFF, 1 }), "NMI on every LINT1");
    }

    [Test]
    public void Build_NoCores_IsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => MpTable.Build(0, 0x663, 0));
}
