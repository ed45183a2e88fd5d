// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using System.Text;
using HyperDbgRemote.VmxDriver.Devices;

namespace HyperDbgRemote.VmxDriver.Guests;

/// <summary>
/// The MultiProcessor Specification 1.4 tables a BIOS gives on a machine with APICs, as SeaBIOS builds them for QEMU's
/// <c>pc</c> machine (its <c>mptable_setup</c>): a floating pointer ("_MP_", in the BIOS area 0xF0000–0xFFFFF where an OS
/// searches for it) pointing at the configuration table ("PCMP", OEM "BOCHSCPU", product "0.1", the local APICs at
/// 0xFEE00000) with one processor entry per core (APIC ID = core index, the bootstrap processor first, signature and
/// features from CPUID leaf 1), the PCI bus 0 and the ISA bus 1, the I/O APIC (ID 0, version 0x11, 0xFEC00000), an
/// I/O interrupt entry per ISA IRQ that is not a PCI IRQ (5, 9, 10 and 11 are QEMU's), IRQ 0 on pin 2 (QEMU's
/// <c>irq0-override</c>, so IRQ 2 has none), and the local interrupts: ExtINT on the bootstrap processor's LINT0 and
/// NMI on every processor's LINT1. The PCI devices' interrupt entries SeaBIOS adds are absent: our PCI functions have
/// no interrupt pin.
/// </summary>
public static class MpTable
{
    /// <summary>Where the floating pointer goes (16-byte aligned, in the BIOS area).</summary>
    public const ulong FloatingPointerAddress = 0xF_6000;

    /// <summary>Where the configuration table goes, after the floating pointer.</summary>
    public const ulong ConfigurationAddress = FloatingPointerAddress + FloatingPointerSize;

    /// <summary>The floating pointer's size (one 16-byte paragraph).</summary>
    public const int FloatingPointerSize = 16;

    /// <summary>The I/O APIC's ID in the table.</summary>
    public const byte IoApicId = 0;

    /// <summary>The ISA bus's ID (the PCI bus is 0).</summary>
    public const byte IsaBusId = 1;

    private const int HeaderSize = 44;
    private const int ProcessorEntrySize = 20;
    private const int ShortEntrySize = 8;
    private const ushort PciIrqs = (1 << 5) | (1 << 9) | (1 << 10) | (1 << 11);
    private const byte TypeProcessor = 0, TypeBus = 1, TypeIoApic = 2, TypeIoInterrupt = 3, TypeLocalInterrupt = 4;
    private const byte InterruptInt = 0, InterruptNmi = 1, InterruptExtInt = 3;

    /// <summary>
    /// The floating pointer and the configuration table for <paramref name="cores"/> processors, to load at
    /// <see cref="FloatingPointerAddress"/>; <paramref name="cpuSignature"/> and <paramref name="cpuFeatures"/> are
    /// CPUID leaf 1's EAX and EDX.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="cores"/> is not 1–255.</exception>
    public static byte[] Build(int cores, uint cpuSignature, uint cpuFeatures)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cores, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(cores, 255);
        var entries = new List<byte[]>();
        for (int i = 0; i < cores; i++)
        {
            byte[] cpu = new byte[ProcessorEntrySize];
            cpu[0] = TypeProcessor;
            cpu[1] = (byte)i;
            cpu[2] = (byte)(LocalApic.VersionValue & 0xFF);
            cpu[3] = (byte)(0x01 | (i == 0 ? 0x02 : 0)); // enabled; bootstrap processor
            BinaryPrimitives.WriteUInt32LittleEndian(cpu.AsSpan(4), cpuSignature);
            BinaryPrimitives.WriteUInt32LittleEndian(cpu.AsSpan(8), cpuFeatures);
            entries.Add(cpu);
        }

        entries.Add(Bus(0, "PCI   "));
        entries.Add(Bus(IsaBusId, "ISA   "));
        byte[] ioApic = new byte[ShortEntrySize];
        ioApic[0] = TypeIoApic;
        ioApic[1] = IoApicId;
        ioApic[2] = 0x11;
        ioApic[3] = 1; // enabled
        BinaryPrimitives.WriteUInt32LittleEndian(ioApic.AsSpan(4), (uint)IoApic.DefaultBase);
        entries.Add(ioApic);
        for (int irq = 0; irq < 16; irq++)
        {
            if ((PciIrqs & (1 << irq)) != 0 || irq == 2)
            {
                continue; // a PCI IRQ, or IRQ 2, whose pin IRQ 0's override took
            }

            entries.Add(Interrupt(TypeIoInterrupt, InterruptInt, (byte)irq, IoApicId, (byte)IrqLine.IoApicPin(irq)));
        }

        entries.Add(Interrupt(TypeLocalInterrupt, InterruptExtInt, 0, 0, 0)); // the 8259 on the BSP's LINT0
        entries.Add(Interrupt(TypeLocalInterrupt, InterruptNmi, 0, 0xFF, 1)); // NMI on every LINT1

        int length = HeaderSize + entries.Sum(e => e.Length);
        byte[] table = new byte[FloatingPointerSize + length];
        Span<byte> floating = table.AsSpan(0, FloatingPointerSize);
        Encoding.ASCII.GetBytes("_MP_", floating);
        BinaryPrimitives.WriteUInt32LittleEndian(floating[4..], (uint)ConfigurationAddress);
        floating[8] = 1; // length in paragraphs
        floating[9] = 4; // MP specification 1.4
        floating[10] = Checksum(floating);

        Span<byte> config = table.AsSpan(FloatingPointerSize);
        Encoding.ASCII.GetBytes("PCMP", config);
        BinaryPrimitives.WriteUInt16LittleEndian(config[4..], (ushort)length);
        config[6] = 4;
        Encoding.ASCII.GetBytes("BOCHSCPU", config[8..]);
        Encoding.ASCII.GetBytes("0.1         ", config[16..]);
        BinaryPrimitives.WriteUInt16LittleEndian(config[34..], (ushort)entries.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(config[36..], (uint)LocalApicRegisters.DefaultBase);
        int at = HeaderSize;
        foreach (byte[] e in entries)
        {
            e.CopyTo(config[at..]);
            at += e.Length;
        }

        config[7] = Checksum(config);
        return table;
    }

    private static byte[] Bus(byte id, string type)
    {
        byte[] bus = new byte[ShortEntrySize];
        bus[0] = TypeBus;
        bus[1] = id;
        Encoding.ASCII.GetBytes(type, bus.AsSpan(2));
        return bus;
    }

    private static byte[] Interrupt(byte entryType, byte interruptType, byte sourceIrq, byte destination, byte destinationPin) =>
        [entryType, interruptType, 0, 0, IsaBusId, sourceIrq, destination, destinationPin];

    /// <summary>The byte that makes <paramref name="bytes"/> (with it in place of a 0) sum to 0.</summary>
    private static byte Checksum(ReadOnlySpan<byte> bytes)
    {
        byte sum = 0;
        foreach (byte b in bytes)
        {
            sum += b;
        }

        return (byte)-sum;
    }
}
