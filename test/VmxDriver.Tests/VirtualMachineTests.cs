// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

public sealed class VirtualMachineTests
{
    [Test]
    public void Start_OutToCom1_CapturesBytesWithoutExits()
    {
        // Arrange
        using TestVm t = TestVm.Create64(a =>
        {
            a.mov(dx, 0x3F8);
            a.mov(al, (byte)'H');
            a.@out(dx, al);
            a.mov(al, (byte)'i');
            a.@out(dx, al);
            a.hlt();
        });

        // Act
        VmStopInfo info = t.Run();

        // Assert
        Assert.That(info.Reason, Is.EqualTo(VmStopReason.AllCoresHalted));
        Assert.That(t.Devices.Com1.Transmitted.Text(), Is.EqualTo("Hi"));
        Assert.That(t.Core0.ExitCount, Is.Zero);
    }

    [Test]
    public void IoExit_BitSet_ReportsExactRipLengthAndQualification()
    {
        // Arrange: two OUTs in one block, the second one trapped; then an IN with an immediate port.
        var handler = new RecordingExitHandler();
        ulong secondOut = 0;
        using TestVm t = TestVm.Create64(a =>
        {
            a.mov(dx, 0x3F8);
            a.mov(al, 0x41);
            a.@out(dx, al);
            a.@out(0x80, al);
            a.@in(eax, 0x71);
            a.hlt();
        });
        t.Vm.ExitHandler = handler;
        t.Core0.Controls.SetPort(0x80, true);
        t.Core0.Controls.SetPort(0x71, true);

        // Act
        t.Run();

        // Assert: mov dx (4 bytes) + mov al (2) + out dx,al (1) → out 80h,al at +7.
        secondOut = TestVm.LoadAddress + 7;
        Assert.That(handler.Exits, Has.Count.EqualTo(2));
        ExitRecord o = handler.Exits[0];
        Assert.That(o.Rip, Is.EqualTo(secondOut));
        Assert.That(o.Length, Is.EqualTo(2));
        Assert.That(o.Qualification.Raw, Is.EqualTo((0x80UL << 16) | (1 << 6)));
        Assert.That(o.Value, Is.EqualTo(0x41));
        Assert.That(o.Text, Is.EqualTo("out 80h,al"));
        ExitRecord i = handler.Exits[1];
        Assert.That(i.Rip, Is.EqualTo(secondOut + 2));
        Assert.That(i.Qualification.Raw, Is.EqualTo((0x71UL << 16) | (1 << 6) | (1 << 3) | 3));
        Assert.That(t.Vm.ExitCountsByPort()[0x80], Is.EqualTo(1));
    }

    [Test]
    public void IoExit_SkipOut_ReachesNoDeviceAndContinues()
    {
        // Arrange
        using TestVm t = TestVm.Create64(a =>
        {
            a.mov(dx, 0x3F8);
            a.mov(al, (byte)'A');
            a.@out(dx, al);
            a.mov(al, (byte)'B');
            a.@out(dx, al);
            a.mov(al, (byte)'C');
            a.@out(dx, al);
            a.hlt();
        });
        t.Vm.ExitHandler = new RecordingExitHandler(e => e.SkipInstruction = e.Value == 'B');
        t.Core0.Controls.SetPort(0x3F8, true);

        // Act
        t.Run();

        // Assert
        Assert.That(t.Devices.Com1.Transmitted.Text(), Is.EqualTo("AC"));
    }

    [Test]
    public void IoExit_PreStageChangesAl_DeviceSeesNewValue()
    {
        using TestVm t = TestVm.Create64(a =>
        {
            a.mov(dx, 0x3F8);
            a.mov(al, (byte)'x');
            a.@out(dx, al);
            a.hlt();
        });
        t.Vm.ExitHandler = new RecordingExitHandler(e => e.Core.WriteRegister(GuestRegister.Rax, 'Y'));
        t.Core0.Controls.SetPort(0x3F8, true);

        t.Run();

        Assert.That(t.Devices.Com1.Transmitted.Text(), Is.EqualTo("Y"));
    }

    [Test]
    public void IoExit_SkippedIn_KeepsValueSetByPreStage()
    {
        using TestVm t = TestVm.Create64(a =>
        {
            a.mov(rax, 0x1111_2222_3333_4444);
            a.@in(al, 0x71);
            a.mov(rbx, rax);
            a.hlt();
        });
        t.Vm.ExitHandler = new RecordingExitHandler(e =>
        {
            e.Core.WriteRegister(GuestRegister.Rax, 0x1111_2222_3333_44AA);
            e.SkipInstruction = true;
        });
        t.Core0.Controls.SetPort(0x71, true);

        t.Run();

        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(0x1111_2222_3333_44AAUL));
    }

    [Test]
    public void IoExit_In32_ZeroExtendsIntoRax()
    {
        using TestVm t = TestVm.Create64(a =>
        {
            a.mov(rax, 0x7777_7777_7777_7777);
            a.mov(dx, 0x3F8 + 5);
            a.@in(eax, dx);
            a.mov(rbx, rax);
            a.hlt();
        });
        t.Vm.ExitHandler = new RecordingExitHandler(e => e.PostStageRequested = true);
        t.Core0.Controls.SetPort(0x3FD, true);

        t.Run();

        // LSR at 0x3FD, then 0x3FE (IIR... MSR) etc.: a 4-byte read of 0x3FD..0x400 (0x400 unhandled → 0xFF).
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx) >> 32, Is.Zero);
    }

    [Test]
    public void Halt_FromExitHandler_StopsEveryCoreUntilResume()
    {
        // Arrange
        using var halted = new ManualResetEventSlim();
        using TestVm t = TestVm.Create64(a =>
        {
            var loop = a.CreateLabel();
            a.xor(ecx, ecx);
            a.Label(ref loop);
            a.inc(rcx);
            a.@out(0x80, al);
            a.cmp(rcx, 1000);
            a.jne(loop);
            a.hlt();
        });
        t.Vm.ExitHandler = new RecordingExitHandler(e =>
        {
            if (e.Core.ReadRegister(GuestRegister.Rcx) == 10)
            {
                t.Vm.Halt(e.Core, HaltReason.Event, e);
            }
        });
        t.Vm.Halted += (_, _) => halted.Set();
        t.Core0.Controls.SetPort(0x80, true);

        // Act
        t.Vm.Start();
        Assert.That(halted.Wait(TimeSpan.FromSeconds(10)), Is.True);
        ulong blocks = t.Core0.BlocksExecuted;
        Thread.Sleep(50);
        ulong count = t.Core0.ReadRegister(GuestRegister.Rcx);
        ulong ripAtHalt = t.Core0.ReadRegister(GuestRegister.Rip);
        t.Core0.WriteRegister(GuestRegister.Rcx, 990);

        // Assert
        Assert.That(t.Core0.BlocksExecuted, Is.EqualTo(blocks));
        Assert.That(count, Is.EqualTo(10));
        Assert.That(t.Vm.IsHalted, Is.True);
        Assert.That(t.Vm.Resume(), Is.True);
        Assert.That(t.Vm.WaitForStop(TimeSpan.FromSeconds(10))?.Reason, Is.EqualTo(VmStopReason.AllCoresHalted));
        Assert.That(t.Core0.ExitCount, Is.EqualTo(10 + 10));
        _ = ripAtHalt;
    }

    [Test]
    public void ReadRegister_RipInsideExit_IsTheIoInstruction()
    {
        var rips = new List<(ulong Read, ulong Exit)>();
        using TestVm t = TestVm.Create64(a =>
        {
            a.nop();
            a.nop();
            a.@out(0x80, al);
            a.nop();
            a.@out(0x80, al);
            a.hlt();
        });
        t.Vm.ExitHandler = new RecordingExitHandler(e => rips.Add((e.Core.ReadRegister(GuestRegister.Rip), e.Rip)));
        t.Core0.Controls.SetPort(0x80, true);

        t.Run();

        Assert.That(rips, Is.EqualTo(new[] { (TestVm.LoadAddress + 2, TestVm.LoadAddress + 2), (TestVm.LoadAddress + 5, TestVm.LoadAddress + 5) }));
    }
}
