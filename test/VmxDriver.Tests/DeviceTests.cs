// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using System.Text;
using HyperDbgRemote.VmxDriver.Devices;
using Microsoft.Extensions.Time.Testing;

namespace HyperDbgRemote.VmxDriver.Tests;

public sealed class DeviceTests
{
    [Test]
    public void Dispatcher_UnhandledPort_ReadsAllOnesAndCounts()
    {
        var bus = new IoPortDispatcher();
        Assert.That(bus.Read(0x1234, 1), Is.EqualTo(0xFF));
        Assert.That(bus.Read(0x1234, 4), Is.EqualTo(0xFFFF_FFFF));
        bus.Write(0x1234, 2, 0);
        Assert.That(bus.UnhandledCount(0x1234), Is.EqualTo(3));
        Assert.That(bus.UnhandledCount(0x1235), Is.EqualTo(2));
        Assert.That(bus.UnhandledPorts().Select(p => p.Key), Is.EqualTo(new ushort[] { 0x1234, 0x1235, 0x1236, 0x1237 }));
    }

    [Test]
    public void Dispatcher_WideAccessAcrossDevices_SplitsIntoBytes()
    {
        var bus = new IoPortDispatcher();
        var con = new DebugConsole();
        bus.Register(0x402, 1, con);
        Assert.That(bus.Read(0x401, 4), Is.EqualTo(0xFFFF_E9FFu));
        bus.Write(0x401, 2, 0x4142);
        Assert.That(con.Output.Text(), Is.EqualTo("A"));
        Assert.That(() => bus.Register(0x402, 1, new DebugConsole()), Throws.InvalidOperationException.With.Message.Contains("0x0402"));
    }

    [Test]
    public void Uart_TransmitDivisorAndReceive()
    {
        var uart = new Uart16550(StandardPorts.Com1);
        uart.WriteByte(0x3FB, 0x80);
        uart.WriteByte(0x3F8, 0x01);
        uart.WriteByte(0x3F9, 0x00);
        uart.WriteByte(0x3FB, 0x03);
        uart.WriteByte(0x3F8, (byte)'x');
        Assert.That(uart.Divisor, Is.EqualTo(1));
        Assert.That(uart.Transmitted.Text(), Is.EqualTo("x"));
        Assert.That(uart.ReadByte(0x3FD) & 0x61, Is.EqualTo(0x60), "transmitter empty, no data");
        Assert.That(uart.Receive("ok"u8), Is.EqualTo(2));
        Assert.That(uart.ReadByte(0x3FD) & 1, Is.EqualTo(1));
        Assert.That(Encoding.ASCII.GetString([uart.ReadByte(0x3F8), uart.ReadByte(0x3F8)]), Is.EqualTo("ok"));
        Assert.That(uart.ReadByte(0x3FD) & 1, Is.Zero);
    }

    [Test]
    public void Cmos_MemorySizeAndClock()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 13, 45, 59, TimeSpan.Zero));
        using var clock = new VirtualClock(time);
        var cmos = new Cmos(128UL * 1024 * 1024, 2, clock);
        byte Read(byte index)
        {
            cmos.WriteByte(0x70, (byte)(0x80 | index));
            return cmos.ReadByte(0x71);
        }

        Assert.That(Read(0x34) | (Read(0x35) << 8), Is.EqualTo((128 - 16) * 16), "64 KiB units above 16 MiB");
        Assert.That(Read(0x30) | (Read(0x31) << 8), Is.EqualTo(0xFFFF), "extended memory in KiB, capped");
        Assert.That((Read(0x04), Read(0x02), Read(0x00)), Is.EqualTo(((byte)0x13, (byte)0x45, (byte)0x59)), "BCD clock");
        Assert.That(Read(0x5F), Is.EqualTo(1), "cores - 1");
        Assert.That(cmos.Index, Is.EqualTo(0x5F), "NMI bit stripped");
    }

    [Test]
    public void Pit_CountsDownFromHostTime_LatchAndReadBack()
    {
        var time = new FakeTimeProvider();
        using var clock = new VirtualClock(time);
        var pit = new Pit8254(clock);
        pit.WriteByte(0x43, 0x34);
        pit.WriteByte(0x40, 0x00);
        pit.WriteByte(0x40, 0x10); // reload 0x1000
        time.Advance(TimeSpan.FromTicks(10_000)); // 1 ms = 1193 ticks
        pit.WriteByte(0x43, 0x00); // latch channel 0
        int count = pit.ReadByte(0x40) | (pit.ReadByte(0x40) << 8);
        Assert.That(count, Is.EqualTo(0x1000 - 1193), "QEMU's pit_get_count for mode 2: count - (d % count)");
        pit.WriteByte(0x43, 0xE2); // read-back status of channel 0
        Assert.That(pit.ReadByte(0x40), Is.EqualTo((3 << 4) | (2 << 1)));
    }

    [Test]
    public void Pci_HostBridgeIdentityAndAbsentFunctions()
    {
        var pci = new PciHostBridge(128UL * 1024 * 1024);
        pci.WriteDword(0xCF8, 0x8000_0000);
        Assert.That(pci.ReadDword(0xCFC), Is.EqualTo(0x1237_8086u));
        pci.WriteDword(0xCF8, 0x8000_002C);
        Assert.That(pci.ReadDword(0xCFC), Is.EqualTo(0x1100_1AF4u));
        pci.WriteDword(0xCF8, 0x8000_0058);
        pci.WriteDword(0xCFC, 0x3333_3000);
        Assert.That(pci.ReadDword(0xCFC), Is.EqualTo(0x3333_3000u), "PAM registers are writable");
        pci.WriteDword(0xCF8, 0x8000_1000);
        Assert.That(pci.ReadDword(0xCFC), Is.EqualTo(0xFFFF_FFFFu), "00:02.0 is absent");
    }

    [Test]
    public void FwCfg_SignatureIdAndFileDirectory()
    {
        var fw = new FwCfg(128UL * 1024 * 1024, 1);
        string Read(ushort key, int n)
        {
            fw.WriteWord(0x510, key);
            return Encoding.Latin1.GetString(Enumerable.Range(0, n).Select(_ => fw.ReadByte(0x511)).ToArray());
        }

        Assert.That(Read(0, 4), Is.EqualTo("QEMU"));
        Assert.That(Read(1, 4), Is.EqualTo("\u0001\0\0\0"), "traditional interface only");
        string dir = Read(0x19, 4 + (64 * 3));
        Assert.That(dir[..4], Is.EqualTo("\0\0\0\u0003"), "three files, big-endian count");
        Assert.That(new[] { dir[12..20], dir[76..100], dir[140..164] }, Is.EqualTo(new[] { "etc/e820", "etc/smbios/smbios-tables", "etc/smbios/smbios-anchor" }));
    }

    [Test]
    public void FwCfg_Dma_SignatureIdSelectReadSkipPastTheEndAndWrite_AsQemusSpecSays()
    {
        // Arrange: a VM's fw_cfg offers DMA; an access structure at 0x1000, the buffer at 0x2000
        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = 16 * 1024 * 1024 });
        StandardDevices devices = StandardDevices.Attach(vm);
        FwCfg fw = devices.FwCfg;
        const ulong access = 0x1000;
        const ulong buffer = 0x2000;
        byte[] Dma(uint control, uint length, int show)
        {
            vm.Memory.Write(buffer, new byte[64].AsSpan());
            Span<byte> a = stackalloc byte[16];
            BinaryPrimitives.WriteUInt32BigEndian(a, control);
            BinaryPrimitives.WriteUInt32BigEndian(a[4..], length);
            BinaryPrimitives.WriteUInt64BigEndian(a[8..], buffer);
            vm.Memory.Write(access, a);
            vm.Ports.Write(0x514, 4, BinaryPrimitives.ReverseEndianness((uint)(access >> 32))); // outl(cpu_to_be32(high))
            vm.Ports.Write(0x518, 4, BinaryPrimitives.ReverseEndianness((uint)access));         // outl(cpu_to_be32(low)): go
            var bytes = new byte[show];
            vm.Memory.Read(buffer, bytes);
            return bytes;
        }

        uint Control()
        {
            vm.Memory.TryRead(access, out uint be);
            return BinaryPrimitives.ReverseEndianness(be);
        }

        // Act / Assert: the signature at the DMA port and the DMA bit in the ID
        Assert.That(BitConverter.GetBytes(vm.Ports.Read(0x514, 4)), Is.EqualTo("QEMU"u8.ToArray()));
        Assert.That(BitConverter.GetBytes(vm.Ports.Read(0x518, 4)), Is.EqualTo(" CFG"u8.ToArray()));
        fw.WriteWord(0x510, FwCfg.KeyId);
        Assert.That(fw.ReadByte(0x511), Is.EqualTo(3), "traditional and DMA interfaces");

        // select + read: the item lands in memory and the control word is cleared
        Assert.That(Dma(((uint)FwCfg.KeySignature << 16) | FwCfg.DmaSelect | FwCfg.DmaRead, 4, 5), Is.EqualTo("QEMU\0"u8.ToArray()));
        Assert.That(Control(), Is.Zero);

        // the file directory in two reads: the offset carries over; a skip moves it without a transfer
        Assert.That(Dma(((uint)FwCfg.KeyFileDirectory << 16) | FwCfg.DmaSelect | FwCfg.DmaRead, 4, 4), Is.EqualTo(new byte[] { 0, 0, 0, 3 }));
        Assert.That(Dma(FwCfg.DmaSkip, 8, 4), Is.EqualTo(new byte[4]), "skip (the size, select and reserved fields) writes nothing");
        Assert.That(Dma(FwCfg.DmaRead, 8, 8), Is.EqualTo("etc/e820"u8.ToArray()));

        // past the item's end a read gives zeros; writes are refused (no writable item) with the error bit
        fw.WriteWord(0x510, FwCfg.KeySignature);
        Assert.That(Dma(FwCfg.DmaSelect | FwCfg.DmaRead, 8, 8), Is.EqualTo("QEMU\0\0\0\0"u8.ToArray()));
        Assert.That(Control(), Is.Zero);
        Dma(FwCfg.DmaWrite, 4, 0);
        Assert.That(Control(), Is.EqualTo(FwCfg.DmaError));
        Assert.That(fw.DmaTransfers, Is.EqualTo(6));
    }
}
