// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// Application processors as the hardware starts them (SDM Vol. 3A 9.4, "Multiple-Processor (MP) Initialization"): an AP
/// waits for a start-up IPI, which the bootstrap processor sends through its local APIC's ICR; a STARTUP with vector V
/// starts it in real mode at CS V &lt;&lt; 8 (base V &lt;&lt; 12), IP 0; a STARTUP while it runs is ignored; an INIT puts it back
/// into wait-for-SIPI with the CPU's power-on state. Small guests on the real engine, synchronised through memory.
/// </summary>
public sealed class ApplicationProcessorStartupTests
{
    /// <summary>ICR: INIT, level assert, physical destination.</summary>
    private const uint IcrInit = 0x4500;

    /// <summary>ICR: STARTUP, level assert, physical destination (the vector in bits 7:0).</summary>
    private const uint IcrStartup = 0x4600;

    private const ulong Shared = 0x9000;
    private const ulong FirstCs = Shared, FirstMsw = Shared + 4, FirstEsp = Shared + 8, Counter = Shared + 0xC;
    private const ulong SecondCs = Shared + 0x10, SecondMsw = Shared + 0x14, SecondEsp = Shared + 0x18, SecondDone = Shared + 0x1C;
    private const ulong IgnoredRan = Shared + 0x20;
    private const byte FirstVector = 0x08, IgnoredVector = 0x0C, SecondVector = 0x0A;

    private static uint Read32(TestVm t, ulong address) =>
        t.Vm.Memory.TryRead(address, out uint value) ? value : throw new InvalidOperationException($"0x{address:X} is not RAM");

    /// <summary>The BSP writes the ICR (destination APIC ID 1) with <paramref name="low"/>.</summary>
    private static void SendIpi(Assembler a, uint low)
    {
        a.mov(rbx, LocalApicRegisters.DefaultBase);
        a.mov(__dword_ptr[rbx + LocalApicRegisters.InterruptCommandHigh], 1u << 24);
        a.mov(__dword_ptr[rbx + LocalApicRegisters.InterruptCommandLow], low);
    }

    /// <summary>The BSP spins (with PAUSE) until the dword at <paramref name="address"/> is at least <paramref name="value"/>.</summary>
    private static void WaitFor(Assembler a, ulong address, uint value)
    {
        Label again = a.CreateLabel();
        Label done = a.CreateLabel();
        a.Label(ref again);
        a.cmp(__dword_ptr[address], value);
        a.jae(done);
        a.pause();
        a.jmp(again);
        a.Label(ref done);
    }

    /// <summary>Real-mode code that stores CS, the machine status word and ESP at <paramref name="at"/> (DS = 0).</summary>
    private static void StoreState(Assembler a, ulong at)
    {
        a.xor(ax, ax);
        a.mov(ds, ax);
        a.mov(ax, cs);
        a.mov(__dword_ptr[(uint)at], eax);
        a.smsw(ax);
        a.mov(__word_ptr[(uint)at + 4], ax);
        a.mov(__dword_ptr[(uint)at + 8], esp);
    }

    /// <summary>The AP's first start: records its state, sets CR0.TS and ESP, then counts for ever.</summary>
    private static void FirstStart(Assembler a)
    {
        Label count = a.CreateLabel();
        StoreState(a, FirstCs);
        a.mov(eax, cr0);
        a.or(eax, 8); // CR0.TS
        a.mov(cr0, eax);
        a.mov(esp, 0x1234_5678);
        a.Label(ref count);
        a.inc(__dword_ptr[(uint)Counter]);
        a.jmp(count);
    }

    /// <summary>Where a STARTUP the running AP must ignore would start it: it would leave a mark.</summary>
    private static void IgnoredStart(Assembler a)
    {
        a.xor(ax, ax);
        a.mov(ds, ax);
        a.mov(__dword_ptr[(uint)IgnoredRan], 1);
        a.cli();
        a.hlt();
    }

    /// <summary>The AP's start after INIT: records its state and says so.</summary>
    private static void SecondStart(Assembler a)
    {
        StoreState(a, SecondCs);
        a.mov(__dword_ptr[(uint)SecondDone], 1);
        a.cli();
        a.hlt();
    }

    /// <summary>Real-mode code that counts for ever (DS = 0).</summary>
    private static void CountForEver(Assembler a)
    {
        Label count = a.CreateLabel();
        a.xor(ax, ax);
        a.mov(ds, ax);
        a.Label(ref count);
        a.inc(__dword_ptr[(uint)Counter]);
        a.jmp(count);
    }

    [Test]
    public void StartupIpi_StartsTheWaitingProcessorInRealModeAtTheVectorsPage_ASecondIsIgnored_AndInitPutsItBackIntoWaitForSipi()
    {
        // Arrange: the AP's first start records its state, changes CR0.TS and ESP, then counts for ever; the BSP waits for
        // the count, sends a STARTUP the running AP must ignore, then INIT and STARTUP with another vector.
        using TestVm t = TestVm.CreateWithWaitingApplicationProcessors(
            a =>
            {
                SendIpi(a, IcrInit);
                SendIpi(a, IcrStartup | FirstVector);
                WaitFor(a, Counter, 1000);
                SendIpi(a, IcrStartup | IgnoredVector);
                SendIpi(a, IcrInit);
                SendIpi(a, IcrStartup | SecondVector);
                WaitFor(a, SecondDone, 1);
                a.cli();
                a.hlt();
            },
            cores: 2,
            ((ulong)FirstVector << 12, FirstStart),
            ((ulong)IgnoredVector << 12, IgnoredStart),
            ((ulong)SecondVector << 12, SecondStart));
        Vcpu ap = t.Vm.Cores[1];
        Assert.That(ap.WaitsForStartup && !t.Core0.WaitsForStartup, Is.True);

        // Act: both cores end in HLT with IF clear.
        VmStopInfo stop = t.Run();

        // Assert
        Assert.That(stop.Reason, Is.EqualTo(VmStopReason.AllCoresHalted), stop.Report);
        Assert.That(Read32(t, FirstCs), Is.EqualTo((uint)FirstVector << 8), "CS = vector << 8");
        Assert.That(Read32(t, SecondCs), Is.EqualTo((uint)SecondVector << 8), "after INIT, the next STARTUP's vector");
        Assert.That(Read32(t, IgnoredRan), Is.Zero, "a STARTUP to a running processor is ignored");
        Assert.That(Read32(t, FirstMsw) & 1, Is.Zero, "real mode (CR0.PE clear)");
        Assert.That(Read32(t, SecondMsw), Is.EqualTo(Read32(t, FirstMsw)), "INIT reset CR0 (TS set by the first run is clear)");
        Assert.That(Read32(t, SecondEsp), Is.EqualTo(Read32(t, FirstEsp)).And.Not.EqualTo(0x1234_5678u), "INIT reset the registers");
        Assert.That((ap.Startups, ap.Inits, t.Core0.Startups, t.Core0.Inits), Is.EqualTo((2, 1, 0, 0)), "the INIT before the first STARTUP found the AP waiting already");
    }

    [Test]
    public void WithoutAStartupIpi_TheApplicationProcessorRunsNothing_AndTheVmStopsOnceTheBspHalts()
    {
        // Arrange: the BSP sends nothing and halts with interrupts off; nothing can wake either core.
        using TestVm t = TestVm.CreateWithWaitingApplicationProcessors(
            a =>
            {
                a.mov(__dword_ptr[Shared], 1);
                a.cli();
                a.hlt();
            },
            cores: 2,
            ((ulong)FirstVector << 12, a => a.hlt()));

        // Act
        VmStopInfo stop = t.Run();

        // Assert
        Assert.That(stop.Reason, Is.EqualTo(VmStopReason.AllCoresHalted), stop.Report);
        Assert.That(Read32(t, Shared), Is.EqualTo(1u));
        Assert.That(t.Vm.Cores[1].BlocksExecuted, Is.Zero, "the AP executed nothing");
        Assert.That(t.Vm.Cores[1].Startups, Is.Zero);
    }

    [Test]
    public void InitToARunningProcessor_PutsItBackIntoWaitForSipi_SoTheVmStopsWhenTheBspHalts()
    {
        // Arrange: the AP counts for ever once started; after INIT (no STARTUP follows) it must not run again, or the VM
        // would never stop.
        using TestVm t = TestVm.CreateWithWaitingApplicationProcessors(
            a =>
            {
                SendIpi(a, IcrStartup | FirstVector);
                WaitFor(a, Counter, 1000);
                SendIpi(a, IcrInit);
                a.cli();
                a.hlt();
            },
            cores: 2,
            ((ulong)FirstVector << 12, CountForEver));

        // Act
        VmStopInfo stop = t.Run();

        // Assert
        Assert.That(stop.Reason, Is.EqualTo(VmStopReason.AllCoresHalted), stop.Report);
        Assert.That((t.Vm.Cores[1].Startups, t.Vm.Cores[1].Inits), Is.EqualTo((1, 1)));
        Assert.That(Read32(t, Counter), Is.GreaterThanOrEqualTo(1000u));
    }
}
