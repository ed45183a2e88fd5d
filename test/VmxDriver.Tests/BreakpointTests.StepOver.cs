// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <content>Stepping over (<c>p</c>) and the interrupt flag while stepping.</content>
public sealed partial class BreakpointTests
{
    [Test]
    public void StepOver_ACall_RunsTheCalleeAndHaltsAtTheNextInstruction()
    {
        // Arrange: site: call f; after: inc eax; hlt; f: mov eax,5; ret.
        using Guest g = Start(a =>
        {
            Label site = a.CreateLabel();
            Label after = a.CreateLabel();
            Label f = a.CreateLabel();
            a.Label(ref site);
            a.call(f);
            a.Label(ref after);
            a.inc(eax);
            a.hlt();
            a.Label(ref f);
            a.mov(eax, 5);
            a.ret();
            return [site, after];
        });
        Vcpu core = g.T.Core0;
        ulong rsp = core.ReadRegister(GuestRegister.Rsp);

        // Act
        Assert.That(g.Vm.StepOver(core, g.Labels[1]), Is.True);

        // Assert
        Assert.That((g.Next().Reason, Rip(core), core.ReadRegister(GuestRegister.Rax), core.ReadRegister(GuestRegister.Rsp)),
            Is.EqualTo((HaltReason.Step, g.Labels[1], 5UL, rsp)));
        g.Vm.Resume();
        g.Finish();
    }

    [Test]
    public void StepOver_ARecursiveCall_IgnoresTheReturnAddressInDeeperFrames()
    {
        // Arrange: mov ecx,3; call f; hlt.  f: dec ecx; jz out; site: call f; after: nop; out: ret.
        // Stepping over 'site' in the outermost f passes 'after' first in the inner frame (RSP lower).
        using Guest g = Start(a =>
        {
            Label f = a.CreateLabel();
            Label site = a.CreateLabel();
            Label after = a.CreateLabel();
            Label done = a.CreateLabel();
            a.mov(ecx, 3);
            a.call(f);
            a.hlt();
            a.Label(ref f);
            a.dec(ecx);
            a.jz(done);
            a.Label(ref site);
            a.call(f);
            a.Label(ref after);
            a.nop();
            a.Label(ref done);
            a.ret();
            return [site, after];
        });
        Vcpu core = g.T.Core0;
        Assert.That(g.Vm.AddCodeBreakpoint(g.Labels[0]), Is.True);
        g.Vm.Resume();
        Assert.That((g.Next().Reason, Rip(core)), Is.EqualTo((HaltReason.Breakpoint, g.Labels[0])));
        Assert.That(g.Vm.RemoveCodeBreakpoint(g.Labels[0]), Is.True);
        ulong rsp = core.ReadRegister(GuestRegister.Rsp);

        // Act
        Assert.That(g.Vm.StepOver(core, g.Labels[1]), Is.True);

        // Assert: the outer frame's return (RSP as at the call), after both inner calls returned.
        Assert.That((g.Next().Reason, Rip(core), core.ReadRegister(GuestRegister.Rsp), core.ReadRegister(GuestRegister.Rcx)),
            Is.EqualTo((HaltReason.Step, g.Labels[1], rsp, 0UL)));
        g.Vm.Resume();
        g.Finish();
    }

    [Test]
    public void StepOver_ABreakpointInTheCallee_EndsItThere()
    {
        // Arrange: call f; after: hlt; f: nop; inner: ret.
        using Guest g = Start(a =>
        {
            Label f = a.CreateLabel();
            Label after = a.CreateLabel();
            Label inner = a.CreateLabel();
            a.call(f);
            a.Label(ref after);
            a.hlt();
            a.Label(ref f);
            a.nop();
            a.Label(ref inner);
            a.ret();
            return [after, inner];
        });
        Vcpu core = g.T.Core0;
        Assert.That(g.Vm.AddCodeBreakpoint(g.Labels[1]), Is.True);

        // Act
        Assert.That(g.Vm.StepOver(core, g.Labels[0]), Is.True);

        // Assert: the breakpoint, then a plain continue does not stop at the old step-over target.
        Assert.That((g.Next().Reason, Rip(core)), Is.EqualTo((HaltReason.Breakpoint, g.Labels[1])));
        Assert.That(core.Debug.IsStepping, Is.False, "the breakpoint ended the step over");
        g.Vm.Resume();
        g.Finish();
    }

    [Test]
    public void Step_WithAnInterruptRequested_ExecutesTheNextInstructionAndLeavesTheInterruptPending()
    {
        // Arrange: sti; nop; nop; nop; cli; hlt. INTR (the 8259's, from the keyboard) is asserted once IF is set and
        // the STI shadow has passed; the guest has no IDT, so taking it would fault the core.
        using Guest g = Start(a =>
        {
            Label third = a.CreateLabel();
            a.sti();
            a.nop();
            a.Label(ref third);
            a.nop();
            a.nop();
            a.cli();
            a.hlt();
            return [third];
        });
        Vcpu core = g.T.Core0;
        IInterruptController pic = g.T.Devices.InterruptController;
        foreach ((ushort port, byte value) in new (ushort, byte)[] { (0x20, 0x11), (0x21, 0x20), (0x21, 0x04), (0x21, 0x01), (0x21, 0xFD) })
        {
            g.Vm.Ports.Write(port, 1, value); // the 8259 master at vector 0x20, only IRQ 1 (the keyboard) unmasked
        }

        g.Vm.Step(core);
        Assert.That(g.Next().Reason, Is.EqualTo(HaltReason.Step));
        g.Vm.Step(core);
        Assert.That((g.Next().Reason, Rip(core)), Is.EqualTo((HaltReason.Step, g.Labels[0])));

        // Act: two steps with INTR asserted and IF set.
        g.Vm.Ports.Write(0x60, 1, 0xF2); // the keyboard answers: IRQ 1
        Assert.That(pic.HasPendingInterrupt, Is.True);
        g.Vm.Step(core);
        VmHaltInfo first = g.Next();
        g.Vm.Step(core);
        VmHaltInfo second = g.Next();

        // Assert
        Assert.That((first.Reason, second.Reason, Rip(core)), Is.EqualTo((HaltReason.Step, HaltReason.Step, g.Labels[0] + 2)));
        Assert.That((core.ExternalInterruptsTaken, pic.HasPendingInterrupt), Is.EqualTo((0L, true)), "held pending while stepping");
        g.Vm.Ports.Write(0x21, 1, 0xFF); // masked again: the guest has no IDT to take it with
        g.Vm.Resume();
        g.Finish();
    }
}
