// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;
using Microsoft.Extensions.Time.Testing;

namespace HyperDbgRemote.VmxDriver.Tests.Devices;

/// <summary>The composition root's wiring, through the VM's port bus as a guest reaches it (no CPU engine needed).</summary>
public sealed class StandardDevicesTests
{
    private const byte MasterBase = 0x30;
    private const byte SlaveBase = 0x38;

    private static void InitPic(IoPortDispatcher bus)
    {
        foreach ((ushort port, byte value) in new (ushort, byte)[]
        {
            (0x20, 0x11), (0x21, MasterBase), (0x21, 0x04), (0x21, 0x01),
            (0xA0, 0x11), (0xA1, SlaveBase), (0xA1, 0x02), (0xA1, 0x01), (0x21, 0x00), (0xA1, 0x00),
        })
        {
            bus.Write(port, 1, value);
        }
    }

    [Test]
    public void Com1ReceivedData_ReachesTheCpuAsIrq4()
    {
        // Arrange
        using var vm = new VirtualMachine(new VmConfiguration());
        StandardDevices d = StandardDevices.Attach(vm, new FakeTimeProvider());
        InitPic(vm.Ports);
        vm.Ports.Write(0x3F9, 1, 0x01); // IER: received data
        int requests = 0;
        d.InterruptController.InterruptRequested += (_, _) => requests++;

        // Act
        d.Com1.Receive("x"u8);

        // Assert
        Assert.That((d.InterruptController.HasPendingInterrupt, requests), Is.EqualTo((true, 1)));
        Assert.That(d.InterruptController.AcknowledgeInterrupt(), Is.EqualTo(MasterBase + 4));
        Assert.That(vm.Ports.Read(0x3F8, 1), Is.EqualTo((uint)'x'));
    }

    [Test]
    public void Pit_RtcAndI8042_AreOnIrq0_8And1()
    {
        // Arrange
        var host = new FakeTimeProvider();
        using var vm = new VirtualMachine(new VmConfiguration());
        StandardDevices d = StandardDevices.Attach(vm, host);
        InitPic(vm.Ports);
        IInterruptController pic = d.InterruptController;

        // PIT channel 0, mode 2, 1 ms.
        vm.Ports.Write(0x43, 1, 0x34);
        vm.Ports.Write(0x40, 1, 0xA9);
        vm.Ports.Write(0x40, 1, 0x04);
        host.Advance(TimeSpan.FromMilliseconds(1.1));
        Assert.That(pic.AcknowledgeInterrupt(), Is.EqualTo(MasterBase + 0));
        vm.Ports.Write(0x20, 1, 0x20);
        vm.Ports.Write(0x21, 1, 0x01); // mask the timer from here on

        // RTC update-ended interrupt: IRQ 8 through the cascade.
        vm.Ports.Write(0x70, 1, 0x0B);
        vm.Ports.Write(0x71, 1, 0x12);
        host.Advance(TimeSpan.FromSeconds(1));
        Assert.That(pic.AcknowledgeInterrupt(), Is.EqualTo(SlaveBase + 0));
        vm.Ports.Write(0xA0, 1, 0x20);
        vm.Ports.Write(0x20, 1, 0x20);

        // The keyboard's reply: IRQ 1.
        vm.Ports.Write(0x60, 1, 0xF2);
        Assert.That(pic.AcknowledgeInterrupt(), Is.EqualTo(MasterBase + 1));
    }

    [Test]
    public void Options_OneSerialPort_LeavesCom2Floating()
    {
        using var vm = new VirtualMachine(new VmConfiguration());
        StandardDevices d = StandardDevices.Attach(vm, new StandardDevicesOptions { SerialPorts = 1, Time = new FakeTimeProvider() });
        Assert.That(d.Uarts, Has.Count.EqualTo(1));
        Assert.That(vm.Ports.Read(0x2FD, 1), Is.EqualTo(0xFFu), "no UART at COM2: all ones, as Linux's probe expects");
        Assert.That(() => StandardDevices.Attach(new VirtualMachine(new VmConfiguration()), new StandardDevicesOptions { SerialPorts = 5 }), Throws.TypeOf<ArgumentOutOfRangeException>());
    }
}
