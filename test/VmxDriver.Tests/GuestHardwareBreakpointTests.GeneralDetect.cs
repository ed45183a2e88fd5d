// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <content>DR7.GD, general detect (SDM Vol. 3B 18.2.4): the next MOV to or from a debug register raises #DB before it
/// executes, with DR6.BD set and DR7.GD cleared for the handler.</content>
public sealed partial class GuestHardwareBreakpointTests
{
    private const ulong Dr7GeneralDetect = 0x2000 | 0x400;
    private const ulong Dr6Bd = 0x2000;
    private const ulong GuestDr7 = Results + 0x100;

    [TestCase(false, Description = "no !dr")]
    [TestCase(true, Description = "!dr: the event fires first, then the general-detect #DB")]
    public void GeneralDetect_NextMovDr_RaisesDebugExceptionAtIt_WithBd_GdClearedForTheHandler(bool drEvent)
    {
        // Arrange: GD set, then a read of DR6; the handler (which reads DR6 itself) returns to the MOV, which then runs.
        using TestVm t = Create(out ulong[] at, a =>
        {
            Label read = a.CreateLabel();
            a.mov(eax, (uint)Dr7GeneralDetect);
            a.mov(dr7, rax);
            a.Label(ref read);
            a.mov(rbx, dr6);
            a.mov(rcx, dr7);
            a.mov(__qword_ptr[GuestDr7], rcx);
            a.hlt();
            return [read];
        });
        var handler = new NoAction();
        if (drEvent)
        {
            t.Vm.ExitHandler = handler;
            t.Vm.TrappedGuestEvents = GuestEventKinds.DebugRegister;
        }

        // Act
        t.Run();

        // Assert
        Assert.That(InterceptTests.Read(t, Count), Is.EqualTo(1), "one #DB: the handler's own MOV DR raised none");
        Assert.That(InterceptTests.Read(t, LastRip), Is.EqualTo(at[0]), "a fault: the pushed RIP is the MOV's");
        Assert.That(InterceptTests.Read(t, LastDr6), Is.EqualTo(0xFFFF_0FF0UL | Dr6Bd), "the handler read DR6.BD");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(0xFFFF_0FF0UL | Dr6Bd), "the MOV ran after the handler");
        Assert.That(InterceptTests.Read(t, GuestDr7), Is.EqualTo(0x400UL), "GD cleared");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Dr7), Is.EqualTo(0x400UL));
        Assert.That(handler.Events, Is.EqualTo(drEvent ? 5 : 0), "!dr: MOV DR7, the MOV that faulted, the handler's read, the MOV again, the read of DR7");
    }

    [Test]
    public void GeneralDetect_OnAWriteOfDr7WithUpperBitsSet_DebugExceptionBeforeTheGeneralProtection()
    {
        // Arrange: in 64-bit mode a MOV to DR7 with bits 63:32 set raises #GP, but GD's #DB comes first; the handler
        // skips the MOV (3 bytes: 0F 23 F8) so that the #GP is never raised.
        using TestVm t = Create(out ulong[] at, a =>
        {
            Label write = a.CreateLabel();
            a.mov(eax, (uint)Dr7GeneralDetect);
            a.mov(dr7, rax);
            a.mov(rax, 1UL << 32);
            a.Label(ref write);
            a.mov(dr7, rax);
            a.mov(ebx, 0x55);
            a.hlt();
            return [write];
        }, a => a.add(__qword_ptr[rsp + 8], 3));

        // Act
        t.Run();

        // Assert
        Assert.That((InterceptTests.Read(t, Count), InterceptTests.Read(t, LastRip)), Is.EqualTo((1UL, at[0])));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Dr7), Is.EqualTo(0x400UL), "the MOV did not run, GD is clear");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(0x55UL));
    }

    /// <summary>Hostile: the handler sets GD again and returns to the MOV, 200 times over; the process survives and the
    /// guest goes on once the handler stops.</summary>
    [Test]
    public void GeneralDetect_HandlerSetsItAgainEachTime_LoopsUntilTheHandlerStops_ProcessSurvives()
    {
        // Arrange
        const int Rounds = 200;
        using TestVm t = Create(out ulong[] at, a =>
        {
            Label read = a.CreateLabel();
            a.mov(eax, (uint)Dr7GeneralDetect);
            a.mov(dr7, rax);
            a.Label(ref read);
            a.mov(rbx, dr6);
            a.mov(ebx, 0x55);
            a.hlt();
            return [read];
        }, a =>
        {
            Label done = a.CreateLabel();
            a.cmp(__qword_ptr[Count], Rounds);
            a.jae(done);
            a.mov(eax, (uint)Dr7GeneralDetect);
            a.mov(dr7, rax);
            a.Label(ref done);
        });

        // Act
        VmStopInfo info = t.Run();

        // Assert
        Assert.That(info.Reason, Is.EqualTo(VmStopReason.AllCoresHalted), info.Report);
        Assert.That((InterceptTests.Read(t, Count), InterceptTests.Read(t, LastRip)), Is.EqualTo(((ulong)Rounds, at[0])));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(0x55UL));
    }
}
