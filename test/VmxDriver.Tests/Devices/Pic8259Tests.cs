// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;

namespace HyperDbgRemote.VmxDriver.Tests.Devices;

/// <summary>The 8259A pair, driven through its ports as Linux's init_8259A does (vector bases 0x30 and 0x38).</summary>
public sealed class Pic8259Tests
{
    private const byte MasterBase = 0x30;
    private const byte SlaveBase = 0x38;

    /// <summary>ICW1 (edge, cascade, ICW4), ICW2 (base), ICW3 (slave on IR2 / cascade id 2), ICW4 (8086 mode).</summary>
    private static Pic8259 Initialised(byte icw4 = 0x01, byte masterMask = 0x00, byte slaveMask = 0x00)
    {
        var pic = new Pic8259();
        pic.WriteByte(0x20, 0x11);
        pic.WriteByte(0x21, MasterBase);
        pic.WriteByte(0x21, 0x04);
        pic.WriteByte(0x21, icw4);
        pic.WriteByte(0xA0, 0x11);
        pic.WriteByte(0xA1, SlaveBase);
        pic.WriteByte(0xA1, 0x02);
        pic.WriteByte(0xA1, icw4);
        pic.WriteByte(0x21, masterMask);
        pic.WriteByte(0xA1, slaveMask);
        return pic;
    }

    private static byte Isr(Pic8259 pic, ushort port)
    {
        pic.WriteByte(port, 0x0B); // OCW3: read ISR
        return pic.ReadByte(port);
    }

    private static byte Irr(Pic8259 pic, ushort port)
    {
        pic.WriteByte(port, 0x0A); // OCW3: read IRR
        return pic.ReadByte(port);
    }

    [Test]
    public void Init_Icw1To4_SetsBasesAndMasks()
    {
        Pic8259 pic = Initialised(masterMask: 0xFB, slaveMask: 0xFF);
        Assert.That((pic.MasterVectorBase, pic.SlaveVectorBase), Is.EqualTo((MasterBase, SlaveBase)));
        Assert.That((pic.ReadByte(0x21), pic.ReadByte(0xA1)), Is.EqualTo(((byte)0xFB, (byte)0xFF)), "OCW1 reads back");
        Assert.That(pic.HasPendingInterrupt, Is.False);
    }

    [Test]
    public void EdgeIrq_AcknowledgeAndNonSpecificEoi_FollowTheDatasheet()
    {
        // Arrange
        Pic8259 pic = Initialised();
        int requests = 0;
        pic.InterruptRequested += (_, _) => requests++;

        // Act / Assert: a rising edge sets IRR and asserts INTR.
        pic.Line(0).Raise();
        Assert.That((pic.HasPendingInterrupt, Irr(pic, 0x20), requests), Is.EqualTo((true, (byte)0x01, 1)));

        // INTA: the vector, IRR → ISR, INTR drops.
        Assert.That(pic.AcknowledgeInterrupt(), Is.EqualTo(MasterBase + 0));
        Assert.That((pic.HasPendingInterrupt, Irr(pic, 0x20), Isr(pic, 0x20)), Is.EqualTo((false, (byte)0x00, (byte)0x01)));

        // A line held high gives no new edge; lowering and raising again does, but IRQ0 in service blocks it.
        pic.Line(0).Raise();
        Assert.That(pic.HasPendingInterrupt, Is.False);
        pic.Line(0).Lower();
        pic.Line(0).Raise();
        Assert.That((pic.HasPendingInterrupt, Irr(pic, 0x20)), Is.EqualTo((false, (byte)0x01)), "same priority in service");

        // Non-specific EOI (OCW2 0x20) ends the service; the latched request asserts INTR again.
        pic.WriteByte(0x20, 0x20);
        Assert.That((Isr(pic, 0x20), pic.HasPendingInterrupt, requests), Is.EqualTo(((byte)0x00, true, 2)));
    }

    [Test]
    public void Priority_LowerIrqFirst_AndHigherPriorityNests()
    {
        Pic8259 pic = Initialised();
        pic.Line(3).Raise();
        pic.Line(1).Raise();
        Assert.That(pic.AcknowledgeInterrupt(), Is.EqualTo(MasterBase + 1));
        Assert.That(pic.HasPendingInterrupt, Is.False, "IRQ3 waits while IRQ1 is in service");
        pic.Line(0).Raise();
        Assert.That(pic.AcknowledgeInterrupt(), Is.EqualTo(MasterBase + 0), "IRQ0 nests over IRQ1");
        Assert.That(Isr(pic, 0x20), Is.EqualTo(0x03));
        pic.WriteByte(0x20, 0x60); // specific EOI for IRQ0
        pic.WriteByte(0x20, 0x61); // specific EOI for IRQ1
        Assert.That(pic.AcknowledgeInterrupt(), Is.EqualTo(MasterBase + 3));
    }

    [Test]
    public void Mask_MaskedRequestWaitsInIrr()
    {
        Pic8259 pic = Initialised(masterMask: 0x10);
        pic.Line(4).Raise();
        Assert.That((pic.HasPendingInterrupt, Irr(pic, 0x20)), Is.EqualTo((false, (byte)0x10)));
        pic.WriteByte(0x21, 0x00);
        Assert.That(pic.AcknowledgeInterrupt(), Is.EqualTo(MasterBase + 4));
    }

    [Test]
    public void Cascade_SlaveIrqGoesThroughIrq2()
    {
        Pic8259 pic = Initialised();
        pic.Line(9).Raise();
        Assert.That(pic.HasPendingInterrupt, Is.True);
        Assert.That(pic.AcknowledgeInterrupt(), Is.EqualTo(SlaveBase + 1));
        Assert.That((Isr(pic, 0x20), Isr(pic, 0xA0)), Is.EqualTo(((byte)0x04, (byte)0x02)), "IR2 on the master, IR1 on the slave");
        pic.WriteByte(0xA0, 0x20);
        pic.WriteByte(0x20, 0x20);
        Assert.That((Isr(pic, 0x20), Isr(pic, 0xA0)), Is.EqualTo(((byte)0, (byte)0)));
    }

    [Test]
    public void Spurious_MasterRequestGone_GivesIrq7WithoutIsr()
    {
        // Arrange: IRQ5 level triggered (ELCR), raised then dropped after the CPU saw INTR.
        Pic8259 pic = Initialised();
        pic.WriteByte(0x4D0, 0x20);
        pic.Line(5).Raise();
        Assert.That(pic.HasPendingInterrupt, Is.True);
        pic.Line(5).Lower();

        // Act
        int vector = pic.AcknowledgeInterrupt();

        // Assert
        Assert.That(vector, Is.EqualTo(MasterBase + 7));
        Assert.That(Isr(pic, 0x20), Is.Zero, "a spurious IRQ7 sets no ISR bit: no EOI is due");
    }

    [Test]
    public void Spurious_SlaveRequestGone_GivesIrq15AndTheMasterCascadeInService()
    {
        Pic8259 pic = Initialised();
        pic.WriteByte(0x4D1, 0x04); // IRQ10 level
        pic.Line(10).Raise();
        pic.Line(10).Lower(); // the master latched the cascade edge, the slave's request is gone
        Assert.That(pic.AcknowledgeInterrupt(), Is.EqualTo(SlaveBase + 7));
        Assert.That((Isr(pic, 0x20), Isr(pic, 0xA0)), Is.EqualTo(((byte)0x04, (byte)0x00)), "Linux then EOIs the master only");
    }

    [Test]
    public void LevelTriggered_StaysRequestedUntilTheLineDrops()
    {
        Pic8259 pic = Initialised();
        pic.WriteByte(0x4D0, 0x20); // IRQ5 level
        pic.Line(5).Raise();
        Assert.That(pic.AcknowledgeInterrupt(), Is.EqualTo(MasterBase + 5));
        Assert.That(Irr(pic, 0x20), Is.EqualTo(0x20), "IRR follows the line");
        pic.WriteByte(0x20, 0x20);
        Assert.That(pic.HasPendingInterrupt, Is.True, "still high after EOI: delivered again");
        pic.Line(5).Lower();
        Assert.That(pic.HasPendingInterrupt, Is.False);
    }

    [Test]
    public void LevelTriggeredOnSlave_DroppedAfterService_LeavesALatchedCascadeEdge()
    {
        // The master's IR2 is edge triggered: a slave request that drops after its EOI leaves the cascade request
        // latched on the master, and the next INTA finds nothing on the slave — a spurious IRQ15, as on a real PC.
        Pic8259 pic = Initialised();
        pic.WriteByte(0x4D1, 0x08); // IRQ11 level
        pic.Line(11).Raise();
        Assert.That(pic.AcknowledgeInterrupt(), Is.EqualTo(SlaveBase + 3));
        pic.WriteByte(0xA0, 0x20);
        pic.WriteByte(0x20, 0x20);
        pic.Line(11).Lower();
        Assert.That(pic.AcknowledgeInterrupt(), Is.EqualTo(SlaveBase + 7));
    }

    [TestCase((ushort)0x4D0, (byte)0xFF, (byte)0xF8, Description = "IRQ 0, 1 and 2 are always edge")]
    [TestCase((ushort)0x4D1, (byte)0xFF, (byte)0xDE, Description = "IRQ 8 and 13 are always edge")]
    public void Elcr_ReadsBackWithinItsMask(ushort port, byte written, byte expected)
    {
        var pic = new Pic8259();
        pic.WriteByte(port, written);
        Assert.That(pic.ReadByte(port), Is.EqualTo(expected));
    }

    [Test]
    public void AutoEoi_Icw4Bit1_LeavesNothingInService()
    {
        Pic8259 pic = Initialised(icw4: 0x03);
        pic.Line(6).Raise();
        Assert.That(pic.AcknowledgeInterrupt(), Is.EqualTo(MasterBase + 6));
        Assert.That(Isr(pic, 0x20), Is.Zero);
    }

    [Test]
    public void Poll_Ocw3_ReadIsAnAcknowledge()
    {
        Pic8259 pic = Initialised();
        pic.Line(3).Raise();
        pic.WriteByte(0x20, 0x0C); // OCW3: poll
        Assert.That(pic.ReadByte(0x20), Is.EqualTo(0x83));
        Assert.That((Isr(pic, 0x20), pic.HasPendingInterrupt), Is.EqualTo(((byte)0x08, false)));
        pic.WriteByte(0x20, 0x0C);
        Assert.That(pic.ReadByte(0x20), Is.Zero, "nothing pending");
    }

    [Test]
    public void RotateOnNonSpecificEoi_ServedIrqBecomesLowest()
    {
        Pic8259 pic = Initialised();
        pic.Line(1).Raise();
        Assert.That(pic.AcknowledgeInterrupt(), Is.EqualTo(MasterBase + 1));
        pic.WriteByte(0x20, 0xA0); // OCW2: rotate on non-specific EOI: IRQ1 becomes the lowest priority
        pic.Line(1).Lower();
        pic.Line(1).Raise();
        pic.Line(4).Raise();
        Assert.That(pic.AcknowledgeInterrupt(), Is.EqualTo(MasterBase + 4));
    }

    [Test]
    public void Icw1_ResetsMaskAndInService()
    {
        Pic8259 pic = Initialised(masterMask: 0xFF);
        pic.WriteByte(0x20, 0x11);
        Assert.That(pic.MasterMask, Is.Zero, "pic_reset_common clears IMR");
    }
}
