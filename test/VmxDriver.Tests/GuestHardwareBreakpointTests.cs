// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// The guest's own hardware breakpoint under <c>!dr</c>: it sets DR0 and DR7 (L0, execute) with MOV DR, which the
/// intercept hands to the model, and the model writes them through the engine's register API. Unicorn 2.1.1 keeps the
/// values but arms no breakpoint for a DR7 written that way (its register write does not update its debug state as the
/// guest's own MOV does), so the instruction runs and no #DB comes: a limit held here (docs/differences.md).
/// </summary>
public sealed class GuestHardwareBreakpointTests
{
    private const ulong Idt = TestVm.DataAddress;
    private const ulong Idtr = TestVm.DataAddress + 0x1000;
    private const ulong Results = TestVm.DataAddress + 0x3000;

    private sealed class NoAction : IVmExitHandler
    {
        public int Events { get; private set; }

        public void OnIoExit(IoExit ioExit)
        {
        }

        public void OnGuestEvent(GuestEventExit guestEvent) => Events++;
    }

    [Test]
    public void WithDrEvent_Dr7IsKept_ButNoDebugExceptionIsRaised()
    {
        // Arrange
        ulong[] at = [];
        using TestVm t = TestVm.Create64(a =>
        {
            Label target = a.CreateLabel();
            a.lidt(__[Idtr]);
            a.lea(rax, __[target]);
            a.mov(dr0, rax);
            a.mov(eax, 1); // L0, R/W0 = 00 (execute), LEN0 = 00
            a.mov(dr7, rax);
            a.nop();
            a.Label(ref target);
            a.mov(ebx, 0x55);
            a.hlt();
            return [target];
        }, out at);
        InterceptTests.WriteRecordingHandler(t, 1, hasErrorCode: false);
        var handler = new NoAction();
        t.Vm.ExitHandler = handler;
        t.Vm.TrappedGuestEvents = GuestEventKinds.DebugRegister;

        // Act
        t.Run();

        // Assert
        Assert.That(handler.Events, Is.EqualTo(2), "!dr saw both MOVs");
        Assert.That((t.Core0.ReadRegister(GuestRegister.Dr0), t.Core0.ReadRegister(GuestRegister.Dr7) & 1), Is.EqualTo((at[0], 1UL)), "DR0 and DR7.L0 as the guest wrote them");
        Assert.That(InterceptTests.Read(t, Results), Is.Zero, "no #DB (hardware would raise one at the instruction)");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(0x55UL), "the instruction there ran");
    }
}
