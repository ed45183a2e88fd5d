// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Tests.Shared;
using HyperDbgRemote.VmxDriver.Devices;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// A machine with APICs (<see cref="VmConfiguration.Apic"/>) on the real engine: the local APIC and the I/O APIC are
/// reached through MMIO (uc_mmio_map), and their interrupts come through the core's one external-interrupt path.
/// </summary>
public sealed class ApicTests
{
    private const ulong Idt = TestVm.DataAddress;
    private const ulong Idtr = TestVm.DataAddress + 0x1000;
    private const ulong Flag = ExternalInterruptTests.Flag;
    private const ulong Results = TestVm.DataAddress + 0x3100;

    private static uint Read32(TestVm t, ulong address) =>
        t.Vm.Memory.TryRead(address, out uint value) ? value : throw new InvalidOperationException($"0x{address:X} is not RAM");

    /// <summary>A handler that sets the flag, prints <paramref name="c"/>, writes the local APIC's EOI and returns.</summary>
    private static void ApicHandler(Assembler a, ref Label label, char c)
    {
        a.Label(ref label);
        a.push(rax);
        a.mov(__byte_ptr[Flag], 1);
        a.mov(al, (byte)c);
        a.@out(0xE9, al);
        a.mov(rax, LocalApicRegisters.DefaultBase);
        a.mov(__dword_ptr[rax + LocalApicRegisters.Eoi], 0);
        a.pop(rax);
        a.iretq();
    }

    /// <summary>Masks both 8259s (after initialising them), software-enables the local APIC with spurious vector 0xFF.</summary>
    private static void EnableApic(Assembler a)
    {
        ExternalInterruptTests.ProgramPics(a, masterMask: 0xFF);
        a.mov(rax, LocalApicRegisters.DefaultBase);
        a.mov(__dword_ptr[rax + LocalApicRegisters.SpuriousVector], 0x1FF);
    }

    [Test]
    public void IsaIrqThroughTheIoApic_TakenFromTheLocalApic_WhileThe8259sAreMasked()
    {
        // Arrange: IRQ 3 → I/O APIC pin 3 → vector 0x33 to APIC 0; the core reads the APIC version and CPUID leaf 1.
        using TestVm t = TestVm.CreateApic64(
            a =>
            {
                Label main = a.CreateLabel();
                Label handler = a.CreateLabel();
                a.jmp(main);
                ApicHandler(a, ref handler, 'A');
                a.Label(ref main);
                a.lidt(__[Idtr]);
                EnableApic(a);
                a.mov(ebx, __dword_ptr[rax + LocalApicRegisters.Version]);
                a.mov(__dword_ptr[Results], ebx);
                a.mov(rbx, IoApic.DefaultBase);
                a.mov(__dword_ptr[rbx + IoApic.RegisterSelect], 0x10 + (2 * 3));
                a.mov(__dword_ptr[rbx + IoApic.Window], 0x33);
                a.mov(eax, 1);
                a.cpuid();
                a.mov(__dword_ptr[Results + 4], edx);
                a.sti();
                a.hlt();
                a.mov(al, (byte)'W');
                a.@out(0xE9, al);
                a.cli();
                a.hlt();
                return [handler];
            },
            out ulong[] labels);
        InterruptTests.WriteIdtGate(t, Idt, Idtr, 0x33, labels[0]);
        t.Vm.Start();
        Eventually.Until(() => t.Core0.State == CoreState.Idle, "core 0 sleeps in HLT");

        // Act
        t.Devices.Pic.Line(3).Raise();
        VmStopInfo? stop = t.Vm.WaitForStop(TimeSpan.FromMinutes(1));

        // Assert
        Assert.That(stop?.Reason, Is.EqualTo(VmStopReason.AllCoresHalted), stop?.Report);
        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("AW"), "the APIC's vector woke the core; the handler ran, then the code after HLT");
        Assert.That(Read32(t, Results), Is.EqualTo(LocalApic.VersionValue), "the version register read through MMIO");
        Assert.That(Read32(t, Results + 4) & (1u << 9), Is.Not.Zero, "CPUID leaf 1 reports the APIC");
        Assert.That(t.Core0.ExternalInterruptsTaken, Is.EqualTo(1));
        Assert.That(t.Devices.LocalApics[0].IsInService(0x33), Is.False, "the handler's EOI reached the APIC");
    }

    [Test]
    public void LocalApicTimer_OneShot_WakesTheCoreFromHlt()
    {
        // Arrange: divide by 1, one-shot 200 µs, vector 0x40.
        using TestVm t = TestVm.CreateApic64(
            a =>
            {
                Label main = a.CreateLabel();
                Label handler = a.CreateLabel();
                a.jmp(main);
                ApicHandler(a, ref handler, 'T');
                a.Label(ref main);
                a.lidt(__[Idtr]);
                EnableApic(a);
                a.mov(__dword_ptr[rax + LocalApicRegisters.TimerDivide], 0xB);
                a.mov(__dword_ptr[rax + LocalApicRegisters.LvtTimer], 0x40);
                a.mov(__dword_ptr[rax + LocalApicRegisters.TimerInitialCount], 200_000);
                a.sti();
                a.hlt();
                a.mov(rax, LocalApicRegisters.DefaultBase);
                a.mov(ebx, __dword_ptr[rax + LocalApicRegisters.TimerCurrentCount]);
                a.mov(__dword_ptr[Results], ebx);
                a.mov(al, (byte)'W');
                a.@out(0xE9, al);
                a.cli();
                a.hlt();
                return [handler];
            },
            out ulong[] labels);
        InterruptTests.WriteIdtGate(t, Idt, Idtr, 0x40, labels[0]);

        // Act
        t.Vm.Start();
        VmStopInfo? stop = t.Vm.WaitForStop(TimeSpan.FromMinutes(1));

        // Assert
        Assert.That(stop?.Reason, Is.EqualTo(VmStopReason.AllCoresHalted), stop?.Report);
        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("TW"));
        Assert.That(Read32(t, Results), Is.Zero, "the one-shot count ran out and stays at 0");
    }

    [Test]
    public void The8259ThroughLint0ExtInt_StillReachesTheBootstrapProcessor()
    {
        // Arrange: the APIC is left as reset (software-disabled, LINT0 ExtINT); IRQ 4 through the 8259.
        using TestVm t = TestVm.CreateApic64(
            a =>
            {
                Label main = a.CreateLabel();
                Label handler = a.CreateLabel();
                a.jmp(main);
                ExternalInterruptTests.Handler(a, ref handler, 'I');
                a.Label(ref main);
                a.lidt(__[Idtr]);
                ExternalInterruptTests.ProgramPics(a, masterMask: 0xEF);
                a.sti();
                a.hlt();
                a.mov(al, (byte)'W');
                a.@out(0xE9, al);
                a.cli();
                a.hlt();
                return [handler];
            },
            out ulong[] labels);
        InterruptTests.WriteIdtGate(t, Idt, Idtr, 0x24, labels[0]);
        t.Vm.Start();
        Eventually.Until(() => t.Core0.State == CoreState.Idle, "core 0 sleeps in HLT");

        // Act
        t.Devices.Pic.Line(4).Raise();
        VmStopInfo? stop = t.Vm.WaitForStop(TimeSpan.FromMinutes(1));

        // Assert
        Assert.That(stop?.Reason, Is.EqualTo(VmStopReason.AllCoresHalted), stop?.Report);
        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("IW"));
    }

    [Test]
    public void MapMmio_OverlappingRamOrAnotherRegion_OrUnaligned_IsRefusedAndMapsNothing()
    {
        // Arrange
        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = 16 * 1024 * 1024, Apic = true });
        StandardDevices.Attach(vm);
        int before = vm.MmioMappings.Count;

        // Act / Assert
        Assert.That(Assert.Throws<ArgumentException>(() => vm.MapMmio(0x10_0000, 0x1000, _ => null!))!.Message, Does.Contain("overlaps guest memory"));
        Assert.That(Assert.Throws<ArgumentException>(() => vm.MapMmio(IoApic.DefaultBase, 0x1000, _ => null!))!.Message, Does.Contain("overlaps the one at 0xFEC00000"));
        Assert.That(Assert.Throws<ArgumentException>(() => vm.MapMmio(0xFED0_0010, 0x1000, _ => null!))!.Message, Does.Contain("whole pages"));
        Assert.That(vm.MmioMappings.Count, Is.EqualTo(before));
        Assert.That(before, Is.EqualTo(2), "the I/O APIC and the local APICs' page");
    }
}
