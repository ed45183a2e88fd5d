// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;
using Microsoft.Extensions.Time.Testing;

namespace HyperDbgRemote.VmxDriver.Tests.Devices;

public sealed class IoApicTests
{
    private static uint ReadRegister(IoApic io, byte register)
    {
        io.Write(IoApic.RegisterSelect, 4, register);
        return (uint)io.Read(IoApic.Window, 4);
    }

    private static void WriteRegister(IoApic io, byte register, uint value)
    {
        io.Write(IoApic.RegisterSelect, 4, register);
        io.Write(IoApic.Window, 4, value);
    }

    private static void WriteEntry(IoApic io, int pin, ulong entry)
    {
        WriteRegister(io, (byte)(0x11 + (2 * pin)), (uint)(entry >> 32));
        WriteRegister(io, (byte)(0x10 + (2 * pin)), (uint)entry);
    }

    private static (IoApic Io, LocalApic Apic, VirtualClock Clock) Machine()
    {
        var clock = new VirtualClock(new FakeTimeProvider());
        var bus = new ApicBus();
        var apic = new LocalApic(0, true, bus, clock, null);
        apic.Write(LocalApicRegisters.SpuriousVector, 4, LocalApic.SvrEnable | 0xFF);
        return (new IoApic(bus), apic, clock);
    }

    [Test]
    public void Registers_IdVersionAndMaskedEntriesAfterReset_ThroughIoregselAndIowin()
    {
        // Arrange
        (IoApic io, _, VirtualClock clock) = Machine();
        using VirtualClock clockScope = clock;

        // Act
        WriteRegister(io, 0, 0x0200_0000);
        WriteRegister(io, 1, 0); // read-only

        // Assert
        Assert.That(ReadRegister(io, 0), Is.EqualTo(0x0200_0000u));
        Assert.That(io.Id, Is.EqualTo(2));
        Assert.That(ReadRegister(io, 1), Is.EqualTo(0x0017_0020u), "version 0x20, 24 entries");
        Assert.That(ReadRegister(io, 0x10 + (2 * 23)), Is.EqualTo((uint)IoApic.EntryMasked));
        Assert.That(io.Read(IoApic.RegisterSelect, 4), Is.EqualTo((ulong)(0x10 + (2 * 23))));
    }

    [Test]
    public void EdgePin_RisingEdgeSendsTheEntrysVector_AMaskedEdgeIsLost()
    {
        // Arrange
        (IoApic io, LocalApic apic, VirtualClock clock) = Machine();
        using VirtualClock clockScope = clock;
        WriteEntry(io, 4, 0x34); // fixed, physical APIC 0, edge, active high, unmasked
        WriteEntry(io, 5, 0x35 | IoApic.EntryMasked);

        // Act
        io.SetPin(4, true);
        io.SetPin(4, true); // still high: no new edge
        int first = apic.AcknowledgeInterrupt();
        bool again = apic.IsRequested(0x34);
        io.SetPin(5, true);
        WriteEntry(io, 5, 0x35);

        // Assert
        Assert.That(first, Is.EqualTo(0x34));
        Assert.That(again, Is.False, "one edge, one interrupt");
        Assert.That(apic.IsRequested(0x35), Is.False, "an edge on a masked pin is lost (82093AA)");
    }

    [Test]
    public void LevelPin_RemoteIrrHoldsItUntilEoi_ThenSentAgainWhileTheLineIsHigh()
    {
        // Arrange
        (IoApic io, LocalApic apic, VirtualClock clock) = Machine();
        using VirtualClock clockScope = clock;
        WriteEntry(io, 9, 0x49 | IoApic.EntryLevel);

        // Act / Assert
        io.SetPin(9, true);
        Assert.That(io.Entry(9) & IoApic.EntryRemoteIrr, Is.Not.Zero, "remote IRR set while the local APIC has it");
        Assert.That(apic.AcknowledgeInterrupt(), Is.EqualTo(0x49));
        Assert.That(ReadRegister(io, 0x10 + 18) & (uint)IoApic.EntryRemoteIrr, Is.Not.Zero);
        apic.Write(LocalApicRegisters.Eoi, 4, 0); // the TMR bit makes it broadcast to the I/O APIC
        Assert.That(apic.IsRequested(0x49), Is.True, "the line is still high: sent again after the EOI");
        Assert.That(apic.AcknowledgeInterrupt(), Is.EqualTo(0x49));
        io.SetPin(9, false);
        apic.Write(LocalApicRegisters.Eoi, 4, 0);
        Assert.That(io.Entry(9) & IoApic.EntryRemoteIrr, Is.Zero);
        Assert.That(apic.IsRequested(0x49), Is.False, "the line went low: nothing more");
    }

    [Test]
    public void LevelPin_Masked_ThenUnmaskedWhileHigh_IsSent_EoiRegisterClearsRemoteIrr()
    {
        // Arrange
        (IoApic io, LocalApic apic, VirtualClock clock) = Machine();
        using VirtualClock clockScope = clock;
        WriteEntry(io, 10, 0x4A | IoApic.EntryLevel | IoApic.EntryMasked);

        // Act
        io.SetPin(10, true);
        bool whileMasked = apic.IsRequested(0x4A);
        WriteEntry(io, 10, 0x4A | IoApic.EntryLevel);
        bool unmasked = apic.IsRequested(0x4A);
        io.Write(IoApic.EoiRegister, 4, 0x4A);

        // Assert
        Assert.That(whileMasked, Is.False);
        Assert.That(unmasked, Is.True);
        Assert.That(io.Entry(10) & IoApic.EntryRemoteIrr, Is.Not.Zero, "sent again at once: the line is high and the EOI register cleared remote IRR");
    }

    [Test]
    public void IsaIrqLines_ReachThePicAndTheIoApic_Irq0OnPin2()
    {
        // Arrange
        (IoApic io, LocalApic apic, VirtualClock clock) = Machine();
        using VirtualClock clockScope = clock;
        var pic = new Pic8259 { IoApic = io };
        WriteEntry(io, 2, 0x30);
        WriteEntry(io, 0, 0x3F);
        WriteEntry(io, 1, 0x31);

        // Act
        pic.Line(0).Raise();
        pic.Line(1).Raise();

        // Assert
        Assert.That(IrqLine.IoApicPin(0), Is.EqualTo(2));
        Assert.That(apic.IsRequested(0x30), Is.True, "IRQ 0 drives pin 2 (the MP table's override)");
        Assert.That(apic.IsRequested(0x3F), Is.False, "pin 0 is not IRQ 0");
        Assert.That(apic.IsRequested(0x31), Is.True);
    }
}
