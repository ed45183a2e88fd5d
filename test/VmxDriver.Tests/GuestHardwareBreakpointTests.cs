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

    /// <summary>
    /// Each kind of hardware breakpoint armed by the guest itself (no <c>!dr</c>), then hit, then rewritten while enabled
    /// and disabled: Unicorn 2.1.1's own MOV to DR7 of an execute breakpoint flushed its translated code from inside the
    /// helper and returned into zeroed code (SIGSEGV, the test host died). The VM must finish normally, the debug
    /// registers reading back what the guest wrote.
    /// </summary>
    [TestCase(0b00_00UL, Description = "execute, LEN 1")]
    [TestCase(0b11_01UL, Description = "write, LEN 4")]
    [TestCase(0b11_11UL, Description = "read/write, LEN 4")]
    [TestCase(0b00_10UL, Description = "I/O (CR4.DE), LEN 1")]
    public void GuestArmsBreakpoint_WithoutDrEvent_ProcessSurvives(ulong lenRw)
    {
        // Arrange
        ulong control = 1 | (lenRw << 16);
        bool io = (lenRw & 3) == 2;
        ulong[] at = [];
        using TestVm t = TestVm.Create64(a =>
        {
            Label target = a.CreateLabel();
            Label data = a.CreateLabel();
            a.lidt(__[Idtr]);
            if (io)
            {
                a.mov(rax, cr4);
                a.or(rax, 8); // CR4.DE
                a.mov(cr4, rax);
                a.mov(eax, 0x80);
            }
            else
            {
                a.lea(rax, __[(lenRw & 3) == 0 ? target : data]);
            }

            a.mov(dr0, rax);
            a.mov(rax, dr7);
            a.mov(rax, control | 0x400);
            a.mov(dr7, rax);
            a.mov(dr0, rax); // rewritten while enabled (Unicorn removes and inserts the breakpoint again)
            if (io)
            {
                a.mov(eax, 0x80);
            }
            else
            {
                a.lea(rax, __[(lenRw & 3) == 0 ? target : data]);
            }

            a.mov(dr0, rax);
            a.Label(ref target);
            a.mov(ebx, 0x55);
            a.mov(__dword_ptr[data], ebx);
            a.mov(ecx, __dword_ptr[data]);
            a.@out(0x80, al);
            a.mov(rdx, dr7);
            a.mov(__qword_ptr[Results + 0x100], rdx);
            a.mov(rdx, dr0);
            a.mov(__qword_ptr[Results + 0x108], rdx);
            a.xor(eax, eax);
            a.mov(dr7, rax); // disabled (Unicorn removes the breakpoint)
            a.hlt();
            a.Label(ref data);
            a.dd(0);
            return [target, data];
        }, out at);
        InterceptTests.WriteRecordingHandler(t, 1, hasErrorCode: false);

        // Act
        VmStopInfo info = t.Run();

        // Assert
        Assert.That(info.Reason, Is.Not.EqualTo(VmStopReason.Fault), info.Report);
        Assert.That(InterceptTests.Read(t, Results + 0x100), Is.EqualTo(control | 0x400), "DR7 as the guest wrote it");
        Assert.That(InterceptTests.Read(t, Results + 0x108), Is.EqualTo(io ? 0x80 : at[(lenRw & 3) == 0 ? 0 : 1]), "DR0 as the guest wrote it");
    }
}
