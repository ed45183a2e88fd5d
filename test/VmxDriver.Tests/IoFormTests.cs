// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>Every I/O instruction form through the engine: the exit reports what the SDM says.</summary>
public sealed class IoFormTests
{
    [Test]
    public void Exits_EveryNonStringForm_QualificationSizeDirectionEncoding()
    {
        // Arrange
        var handler = new RecordingExitHandler();
        using TestVm t = TestVm.Create64(a =>
        {
            a.mov(dx, 0x3FF);
            a.@out(dx, al);
            a.@out(dx, ax);
            a.@out(dx, eax);
            a.@out(0x80, al);
            a.@out(0x80, ax);
            a.@out(0x80, eax);
            a.@in(al, dx);
            a.@in(ax, dx);
            a.@in(eax, dx);
            a.@in(al, 0x80);
            a.@in(ax, 0x80);
            a.@in(eax, 0x80);
            a.hlt();
        });
        t.Vm.ExitHandler = handler;
        t.Core0.Controls.SetPort(0x3FF, true);
        t.Core0.Controls.SetPort(0x80, true);

        // Act
        t.Run();

        // Assert
        (bool In, int Size, bool Imm, ushort Port)[] expected =
        [
            (false, 1, false, 0x3FF), (false, 2, false, 0x3FF), (false, 4, false, 0x3FF),
            (false, 1, true, 0x80), (false, 2, true, 0x80), (false, 4, true, 0x80),
            (true, 1, false, 0x3FF), (true, 2, false, 0x3FF), (true, 4, false, 0x3FF),
            (true, 1, true, 0x80), (true, 2, true, 0x80), (true, 4, true, 0x80),
        ];
        Assert.That(handler.Exits.Select(e => (e.Qualification.IsIn, e.Qualification.Size, e.Qualification.IsImmediate, e.Qualification.Port)), Is.EqualTo(expected));
        Assert.That(handler.Exits.Select(e => e.Qualification.IsString), Is.All.False);
        Assert.That(handler.Exits.Select(e => e.Rip), Is.Ordered.Ascending);
        Assert.That(handler.Exits.Select(e => e.Length), Is.EqualTo(new[] { 1, 2, 1, 2, 3, 2, 1, 2, 1, 2, 3, 2 }));
    }

    [Test]
    public void Exits_RepOutsb_OneExitPerIterationWithElementAddressAndCount()
    {
        // Arrange
        var handler = new RecordingExitHandler();
        using TestVm t = TestVm.Create64(a =>
        {
            a.mov(rsi, TestVm.DataAddress);
            a.mov(rcx, 3);
            a.mov(dx, 0x3F8);
            a.rep.outsb();
            a.hlt();
        });
        t.Vm.Memory.Write(TestVm.DataAddress, "abc"u8);
        t.Vm.ExitHandler = handler;
        t.Core0.Controls.SetPort(0x3F8, true);

        // Act
        t.Run();

        // Assert
        Assert.That(handler.Exits, Has.Count.EqualTo(3));
        Assert.That(handler.Exits.Select(e => e.Qualification.Raw), Is.All.EqualTo(IoExitQualification.Create(1, false, true, true, false, 0x3F8).Raw));
        Assert.That(handler.Exits.Select(e => e.LinearAddress), Is.EqualTo(new[] { TestVm.DataAddress, TestVm.DataAddress + 1, TestVm.DataAddress + 2 }));
        Assert.That(handler.Exits.Select(e => e.Rcx), Is.EqualTo(new ulong[] { 3, 2, 1 }));
        Assert.That(handler.Exits.Select(e => e.Value), Is.EqualTo(new uint[] { 'a', 'b', 'c' }));
        Assert.That(handler.Exits.Select(e => e.Rip).Distinct().Count(), Is.EqualTo(1), "every iteration reports the REP instruction");
        Assert.That(handler.Exits[0].Information, Is.EqualTo((2u << 7) | (3u << 15)), "64-bit address size, DS");
        Assert.That(handler.Exits[0].Text, Is.EqualTo("rep outsb dx,[rsi]"));
        Assert.That(t.Devices.Com1.Transmitted.Text(), Is.EqualTo("abc"));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rsi), Is.EqualTo(TestVm.DataAddress + 3));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rcx), Is.Zero);
    }

    [Test]
    public void Exits_RepInsdWithDfSet_WritesDownwardsAndPostStageSeesValue()
    {
        // Arrange: read 2 dwords from the UART scratch register area into DATA+8, DATA+4 (DF = 1).
        var values = new List<uint>();
        var handler = new RecordingExitHandler(e =>
        {
            if (e.Stage == ExitStage.Pre)
            {
                e.PostStageRequested = true;
            }
            else
            {
                values.Add(e.Value);
            }
        });
        using TestVm t = TestVm.Create64(a =>
        {
            a.mov(dx, 0x3FF);
            a.mov(al, 0x5A);
            a.@out(dx, al);
            a.mov(rdi, TestVm.DataAddress + 8);
            a.mov(rcx, 2);
            a.std();
            a.rep.insd();
            a.cld();
            a.hlt();
        });
        t.Vm.ExitHandler = handler;
        t.Core0.Controls.SetPort(0x400, true);

        // Act
        t.Run();

        // Assert: 0x3FF = COM1 scratch (0x5A), 0x400..0x402: 0x400/0x401 unhandled (FF), 0x402 debug console (E9).
        Assert.That(handler.Exits.Where(e => e.Stage == ExitStage.Pre).Select(e => e.LinearAddress), Is.EqualTo(new[] { TestVm.DataAddress + 8, TestVm.DataAddress + 4 }));
        Assert.That(values, Is.EqualTo(new[] { 0xE9FFFF5Au, 0xE9FFFF5Au }));
        Assert.That(t.Vm.Memory.TryRead(TestVm.DataAddress + 4, out ulong both) ? both : 0, Is.EqualTo(0xE9FFFF5A_E9FFFF5AUL));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rdi), Is.EqualTo(TestVm.DataAddress));
    }

    [Test]
    public void Exits_AddressSize32Outs_ReportsAddressSize1()
    {
        var handler = new RecordingExitHandler();
        using TestVm t = TestVm.Create64(a =>
        {
            a.mov(rsi, 0xFFFF_FFFF_0000_0000 | TestVm.DataAddress);
            a.mov(dx, 0x3F8);
            a.AddInstruction(Instruction.CreateOutsb(32, Register.None, RepPrefixKind.None));
            a.hlt();
        });
        t.Vm.Memory.Write(TestVm.DataAddress, "Z"u8);
        t.Vm.ExitHandler = handler;
        t.Core0.Controls.SetPort(0x3F8, true);

        t.Run();

        Assert.That(handler.Exits.Single().Information, Is.EqualTo((1u << 7) | (3u << 15)));
        Assert.That(handler.Exits.Single().LinearAddress, Is.EqualTo(TestVm.DataAddress));
        Assert.That(t.Devices.Com1.Transmitted.Text(), Is.EqualTo("Z"));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rsi), Is.EqualTo(TestVm.DataAddress + 1), "32-bit address size zero-extends ESI");
    }

    [Test]
    public void Exits_RealMode16BitAddressSize_SegmentBaseAndDf()
    {
        var handler = new RecordingExitHandler();
        using TestVm t = TestVm.Create16(a =>
        {
            a.mov(ax, 0x2000);
            a.mov(ds, ax);
            a.mov(si, 0x0002);
            a.mov(cx, 3);
            a.mov(dx, 0x3F8);
            a.std();
            a.rep.outsb();
            a.cld();
            a.hlt();
        });
        t.Vm.Memory.Write(0x20000, "xyz"u8);
        t.Vm.ExitHandler = handler;
        t.Core0.Controls.SetPort(0x3F8, true);

        t.Run();

        Assert.That(t.Devices.Com1.Transmitted.Text(), Is.EqualTo("zyx"));
        Assert.That(handler.Exits.Select(e => e.LinearAddress), Is.EqualTo(new ulong[] { 0x20002, 0x20001, 0x20000 }));
        Assert.That(handler.Exits[0].Information, Is.EqualTo(3u << 15), "16-bit address size (0), DS");
        Assert.That(handler.Exits[0].Rip, Is.EqualTo(0x7C00UL + 3 + 2 + 3 + 3 + 3 + 1));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rsi) & 0xFFFF, Is.EqualTo(0xFFFFUL));
    }
}
