// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;
using Microsoft.Extensions.Time.Testing;

namespace HyperDbgRemote.VmxDriver.Tests.Devices;

public sealed class LocalApicTests
{
    private const uint Enabled = LocalApic.SvrEnable | 0xFF;

    private static uint Read(LocalApic apic, int register) => (uint)apic.Read((ulong)register, 4);

    private static void Write(LocalApic apic, int register, uint value) => apic.Write((ulong)register, 4, value);

    private static (ApicBus Bus, LocalApic Apic, VirtualClock Clock, FakeTimeProvider Host) NewApic(IInterruptController? pic = null)
    {
        var host = new FakeTimeProvider();
        var clock = new VirtualClock(host);
        var bus = new ApicBus();
        return (bus, new LocalApic(0, bootstrap: true, bus, clock, pic), clock, host);
    }

    [Test]
    public void Reset_RegistersAsTheSdmAndQemuGiveThem()
    {
        // Arrange
        var host = new FakeTimeProvider();
        using var clock = new VirtualClock(host);
        var bus = new ApicBus();
        var bsp = new LocalApic(0, bootstrap: true, bus, clock, null);
        var ap = new LocalApic(1, bootstrap: false, bus, clock, null);

        // Assert
        Assert.That(Read(bsp, LocalApicRegisters.Id), Is.EqualTo(0u));
        Assert.That(Read(ap, LocalApicRegisters.Id), Is.EqualTo(1u << 24));
        Assert.That(Read(bsp, LocalApicRegisters.Version), Is.EqualTo(0x0005_0014u), "version 0x14, max LVT 5 (QEMU)");
        Assert.That(Read(bsp, LocalApicRegisters.SpuriousVector), Is.EqualTo(0xFFu), "software-disabled, vector 0xFF");
        Assert.That(Read(bsp, LocalApicRegisters.DestinationFormat), Is.EqualTo(0xFFFF_FFFFu));
        Assert.That(Read(bsp, LocalApicRegisters.LvtTimer), Is.EqualTo(LocalApic.LvtMasked));
        Assert.That(Read(bsp, LocalApicRegisters.LvtLint0), Is.EqualTo(0x700u), "the BSP's LINT0 is ExtINT for the 8259");
        Assert.That(Read(ap, LocalApicRegisters.LvtLint0), Is.EqualTo(LocalApic.LvtMasked));
        Assert.That(bsp.BaseMsr, Is.EqualTo(0xFEE0_0000UL | LocalApic.BaseEnable | LocalApic.BaseBsp));
        Assert.That(ap.BaseMsr, Is.EqualTo(0xFEE0_0000UL | LocalApic.BaseEnable));
        Assert.That(bsp.Read(LocalApicRegisters.Version, 2), Is.Zero, "narrower than 32 bits reads 0, as in QEMU");
        Assert.That(bus.LocalApics, Is.EqualTo(new[] { bsp, ap }));
    }

    [Test]
    public void FixedInterrupts_HighestFirst_ThePprHoldsLowerClassesUntilEoi()
    {
        // Arrange
        (_, LocalApic apic, VirtualClock clock, _) = NewApic();
        using VirtualClock clockScope = clock;
        Write(apic, LocalApicRegisters.SpuriousVector, Enabled);
        int requests = 0;
        apic.InterruptRequested += (_, _) => requests++;

        // Act
        apic.Accept(new ApicMessage(ApicDeliveryMode.Fixed, 0x41, 0, false, false));
        apic.Accept(new ApicMessage(ApicDeliveryMode.Fixed, 0x52, 0, false, false));
        int first = apic.AcknowledgeInterrupt();
        bool pendingInService = apic.HasPendingInterrupt;
        uint ppr = Read(apic, LocalApicRegisters.ProcessorPriority);
        Write(apic, LocalApicRegisters.Eoi, 0);
        bool pendingAfterEoi = apic.HasPendingInterrupt;
        int second = apic.AcknowledgeInterrupt();

        // Assert
        Assert.That(requests, Is.GreaterThanOrEqualTo(1), "INTR rose");
        Assert.That(first, Is.EqualTo(0x52));
        Assert.That(pendingInService, Is.False, "0x41's class 4 is below the PPR (class 5) while 0x52 is in service");
        Assert.That(ppr, Is.EqualTo(0x50u));
        Assert.That(pendingAfterEoi, Is.True);
        Assert.That(second, Is.EqualTo(0x41));
        Assert.That(apic.IsInService(0x41), Is.True);
        Assert.That(apic.IsRequested(0x41), Is.False);
    }

    [Test]
    public void Tpr_BlocksClassesAtOrBelowIt_SoftwareDisabled_BlocksEverything()
    {
        // Arrange
        (_, LocalApic apic, VirtualClock clock, _) = NewApic();
        using VirtualClock clockScope = clock;

        // Act / Assert
        apic.Accept(new ApicMessage(ApicDeliveryMode.Fixed, 0x61, 0, false, false));
        Assert.That(apic.HasPendingInterrupt, Is.False, "software-disabled (SVR bit 8 clear): nothing is taken");
        Assert.That(apic.IsRequested(0x61), Is.True, "but the request is held in the IRR");
        Write(apic, LocalApicRegisters.SpuriousVector, Enabled);
        Write(apic, LocalApicRegisters.TaskPriority, 0x60);
        Assert.That(apic.HasPendingInterrupt, Is.False, "TPR 0x60 holds class 6");
        Assert.That(apic.AcknowledgeInterrupt(), Is.EqualTo(0xFF), "an INTA with nothing deliverable gets the spurious vector");
        Write(apic, LocalApicRegisters.TaskPriority, 0x50);
        Assert.That(apic.HasPendingInterrupt, Is.True);
        Assert.That(apic.AcknowledgeInterrupt(), Is.EqualTo(0x61));
    }

    [Test]
    public void Lint0ExtInt_TheBspTakesThe8259sVector_MaskedLint0DoesNot()
    {
        // Arrange
        var pic = new Pic8259();
        (_, LocalApic apic, VirtualClock clock, _) = NewApic(pic);
        using VirtualClock clockScope = clock;
        foreach ((ushort port, byte value) in new (ushort, byte)[] { (0x20, 0x11), (0x21, 0x20), (0x21, 0x04), (0x21, 0x01), (0x21, 0xFE) })
        {
            pic.WriteByte(port, value);
        }

        int requests = 0;
        apic.InterruptRequested += (_, _) => requests++;

        // Act
        pic.Line(0).Raise();
        bool pending = apic.HasPendingInterrupt;
        int vector = apic.AcknowledgeInterrupt();
        pic.WriteByte(0x20, 0x20);
        Write(apic, LocalApicRegisters.SpuriousVector, Enabled);
        Write(apic, LocalApicRegisters.LvtLint0, 0x700 | LocalApic.LvtMasked);
        pic.Line(0).Lower();
        pic.Line(0).Raise();

        // Assert
        Assert.That(requests, Is.EqualTo(1), "the 8259's INTR reached the core through LINT0 once");
        Assert.That(pending, Is.True);
        Assert.That(vector, Is.EqualTo(0x20), "the INTA cycle went to the 8259");
        Assert.That(pic.HasPendingInterrupt, Is.True);
        Assert.That(apic.HasPendingInterrupt, Is.False, "LINT0 masked: the 8259 no longer reaches the core");
    }

    [Test]
    public void GloballyDisabled_The8259ReachesTheCoreDirectly()
    {
        // Arrange
        var pic = new Pic8259();
        (_, LocalApic apic, VirtualClock clock, _) = NewApic(pic);
        using VirtualClock clockScope = clock;
        Write(apic, LocalApicRegisters.SpuriousVector, Enabled);
        Write(apic, LocalApicRegisters.LvtLint0, LocalApic.LvtMasked);
        pic.WriteByte(0x20, 0x11);
        pic.WriteByte(0x21, 0x20);
        pic.WriteByte(0x21, 0x04);
        pic.WriteByte(0x21, 0x01);
        pic.WriteByte(0x21, 0xFE);
        pic.Line(0).Raise();
        bool beforeDisable = apic.HasPendingInterrupt;

        // Act
        apic.BaseMsr = LocalApicRegisters.DefaultBase;

        // Assert
        Assert.That(beforeDisable, Is.False);
        Assert.That(apic.HasPendingInterrupt, Is.True, "IA32_APIC_BASE bit 11 clear: the APIC is out of the path");
        Assert.That(apic.BaseMsr, Is.EqualTo(LocalApicRegisters.DefaultBase | LocalApic.BaseBsp), "the BSP bit is read-only");
        Assert.Throws<ArgumentException>(() => apic.BaseMsr = 0xFED0_0000 | LocalApic.BaseEnable, "moving the page is refused");
        Assert.That(apic.BaseMsr, Is.EqualTo(LocalApicRegisters.DefaultBase | LocalApic.BaseBsp), "and changes nothing");
    }

    [Test]
    public void Timer_OneShot_CountsDownAtTheDividedBusClock_AndRequestsItsVectorOnce()
    {
        // Arrange
        (_, LocalApic apic, VirtualClock clock, FakeTimeProvider host) = NewApic();
        using VirtualClock clockScope = clock;
        Write(apic, LocalApicRegisters.SpuriousVector, Enabled);
        Write(apic, LocalApicRegisters.TimerDivide, 0x1); // divide by 4
        Write(apic, LocalApicRegisters.LvtTimer, 0xEC);

        // Act
        Write(apic, LocalApicRegisters.TimerInitialCount, 1000);
        host.Advance(TimeSpan.FromTicks(10)); // 1000 ns = 250 ticks
        uint afterMicrosecond = Read(apic, LocalApicRegisters.TimerCurrentCount);
        bool before = apic.IsRequested(0xEC);
        host.Advance(TimeSpan.FromTicks(30)); // 4000 ns in all: the count ran out
        clock.RunDueTimers();
        bool after = apic.IsRequested(0xEC);
        apic.AcknowledgeInterrupt();
        Write(apic, LocalApicRegisters.Eoi, 0);
        host.Advance(TimeSpan.FromTicks(100));
        clock.RunDueTimers();

        // Assert
        Assert.That(apic.TimerTickNanoseconds, Is.EqualTo(4));
        Assert.That(afterMicrosecond, Is.EqualTo(750u));
        Assert.That(before, Is.False);
        Assert.That(after, Is.True);
        Assert.That(Read(apic, LocalApicRegisters.TimerCurrentCount), Is.Zero, "a one-shot count stays at 0");
        Assert.That(apic.IsRequested(0xEC), Is.False, "one shot: no second request");
    }

    [Test]
    public void Timer_Periodic_Reloads_AndMaskedRequestsNothing()
    {
        // Arrange
        (_, LocalApic apic, VirtualClock clock, FakeTimeProvider host) = NewApic();
        using VirtualClock clockScope = clock;
        Write(apic, LocalApicRegisters.SpuriousVector, Enabled);
        Write(apic, LocalApicRegisters.TimerDivide, 0xB); // divide by 1
        Write(apic, LocalApicRegisters.LvtTimer, (1u << 17) | 0xEC);
        Write(apic, LocalApicRegisters.TimerInitialCount, 1000);

        // Act
        host.Advance(TimeSpan.FromTicks(25)); // 2500 ns: two periods and a half
        clock.RunDueTimers();
        uint count = Read(apic, LocalApicRegisters.TimerCurrentCount);
        bool requested = apic.IsRequested(0xEC);
        apic.AcknowledgeInterrupt();
        Write(apic, LocalApicRegisters.Eoi, 0);
        Write(apic, LocalApicRegisters.LvtTimer, (1u << 17) | LocalApic.LvtMasked | 0xEC);
        host.Advance(TimeSpan.FromTicks(20));
        clock.RunDueTimers();

        // Assert
        Assert.That(count, Is.EqualTo(500u), "the count reloads and keeps its phase");
        Assert.That(requested, Is.True);
        Assert.That(apic.IsRequested(0xEC), Is.False, "a masked timer requests nothing");
        Assert.That(Read(apic, LocalApicRegisters.TimerCurrentCount), Is.EqualTo(500u), "but goes on counting");
    }

    [Test]
    public void Icr_FixedIpis_ByPhysicalId_LogicalFlatMask_AndShorthands()
    {
        // Arrange
        using var clock = new VirtualClock(new FakeTimeProvider());
        var bus = new ApicBus();
        var a0 = new LocalApic(0, true, bus, clock, null);
        var a1 = new LocalApic(1, false, bus, clock, null);
        var a2 = new LocalApic(2, false, bus, clock, null);
        foreach ((LocalApic a, int i) in new[] { (a0, 0), (a1, 1), (a2, 2) })
        {
            Write(a, LocalApicRegisters.SpuriousVector, Enabled);
            Write(a, LocalApicRegisters.LogicalDestination, (1u << i) << 24);
        }

        // Act
        Write(a0, LocalApicRegisters.InterruptCommandHigh, 2u << 24);
        Write(a0, LocalApicRegisters.InterruptCommandLow, 0x31); // fixed, physical, to APIC 2
        Write(a0, LocalApicRegisters.InterruptCommandHigh, 0x3u << 24);
        Write(a0, LocalApicRegisters.InterruptCommandLow, 0x832); // fixed, logical, mask 0b011
        Write(a1, LocalApicRegisters.InterruptCommandLow, 0xC0033); // all excluding self

        // Assert
        Assert.That((a0.IsRequested(0x31), a1.IsRequested(0x31), a2.IsRequested(0x31)), Is.EqualTo((false, false, true)));
        Assert.That((a0.IsRequested(0x32), a1.IsRequested(0x32), a2.IsRequested(0x32)), Is.EqualTo((true, true, false)));
        Assert.That((a0.IsRequested(0x33), a1.IsRequested(0x33), a2.IsRequested(0x33)), Is.EqualTo((true, false, true)));
        Assert.That(Read(a0, LocalApicRegisters.InterruptCommandLow) & (1u << 12), Is.Zero, "delivery status: idle");
    }

    [Test]
    public void Icr_InitAndStartup_ReachTheTarget_NmiToo_IllegalVectorSetsEsr()
    {
        // Arrange
        using var clock = new VirtualClock(new FakeTimeProvider());
        var bus = new ApicBus();
        var a0 = new LocalApic(0, true, bus, clock, null);
        var a1 = new LocalApic(1, false, bus, clock, null);
        Write(a1, LocalApicRegisters.SpuriousVector, Enabled);
        Write(a1, LocalApicRegisters.TaskPriority, 0x20);
        var seen = new List<string>();
        a1.InitRequested += (_, _) => seen.Add("INIT");
        a1.StartupRequested += (_, v) => seen.Add($"SIPI {v:X2}");
        a1.NmiRequested += (_, _) => seen.Add("NMI");
        a0.InitRequested += (_, _) => seen.Add("wrong core");

        // Act
        Write(a0, LocalApicRegisters.InterruptCommandHigh, 1u << 24);
        Write(a0, LocalApicRegisters.InterruptCommandLow, 0xC500); // INIT, level assert
        Write(a0, LocalApicRegisters.InterruptCommandLow, 0x8500); // INIT de-assert: nothing
        Write(a0, LocalApicRegisters.InterruptCommandLow, 0x0609); // SIPI, vector 9
        Write(a0, LocalApicRegisters.InterruptCommandLow, 0x0400); // NMI
        Write(a0, LocalApicRegisters.InterruptCommandLow, 0x0005); // fixed vector 5: illegal
        uint esrBefore = Read(a0, LocalApicRegisters.ErrorStatus);
        Write(a0, LocalApicRegisters.ErrorStatus, 0);

        // Assert
        Assert.That(seen, Is.EqualTo(new[] { "INIT", "SIPI 09", "NMI" }));
        Assert.That(Read(a1, LocalApicRegisters.TaskPriority), Is.Zero, "INIT resets the APIC's registers");
        Assert.That(Read(a1, LocalApicRegisters.SpuriousVector), Is.EqualTo(0xFFu));
        Assert.That(esrBefore, Is.Zero, "the ESR shows errors only after a write");
        Assert.That(Read(a0, LocalApicRegisters.ErrorStatus), Is.EqualTo(LocalApic.EsrSendIllegalVector));
        Assert.That(Read(a1, LocalApicRegisters.ErrorStatus), Is.Zero);
        Write(a1, LocalApicRegisters.ErrorStatus, 0);
        Assert.That(Read(a1, LocalApicRegisters.ErrorStatus), Is.EqualTo(LocalApic.EsrReceiveIllegalVector));
    }
}
