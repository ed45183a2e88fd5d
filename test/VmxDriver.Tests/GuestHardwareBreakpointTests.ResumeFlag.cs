// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Collections.Concurrent;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <content>RFLAGS.RF (SDM Vol. 3B 18.3.1.1): it suppresses the instruction breakpoint of exactly one instruction.</content>
public sealed partial class GuestHardwareBreakpointTests
{
    private const ulong FlagRf = 0x10000;

    [TestCase(false, Description = "straight-line code")]
    [TestCase(true, Description = "an intercepted MOV from DR7 in between: the exit leaves the block, the next starts at the second")]
    public void ResumeFlag_IretToTheFirstOfTwoExecuteBreakpointsInOneBlock_TheSecondStillFires(bool interceptBetween)
    {
        // Arrange: DR0 and DR1 on two instructions of one straight-line block; the handler's IRET with RF set returns to
        // the first (a new block starts there), whose instruction runs; RF must not cover the second.
        using TestVm t = Create(out ulong[] at, a =>
        {
            Label first = a.CreateLabel();
            Label second = a.CreateLabel();
            a.lea(rax, __[first]);
            a.mov(dr0, rax);
            a.lea(rax, __[second]);
            a.mov(dr1, rax);
            a.mov(eax, (uint)(Dr7(0, Execute) | Dr7(1, Execute)));
            a.mov(dr7, rax);
            a.nop();
            a.Label(ref first);
            a.mov(ebx, 1);
            a.add(ebx, 1);
            if (interceptBetween)
            {
                a.mov(rsi, dr7);
            }

            a.Label(ref second);
            a.mov(ecx, 2);
            a.mov(edx, 3);
            a.hlt();
            return [first, second];
        });

        // Act
        t.Run();

        // Assert
        Assert.That(InterceptTests.Read(t, Count), Is.EqualTo(2), "one #DB per breakpoint");
        Assert.That((InterceptTests.Read(t, Hits), InterceptTests.Read(t, Hits + 8)), Is.EqualTo((at[0], at[1])));
        Assert.That(InterceptTests.Read(t, LastDr6), Is.EqualTo(0xFFFF_0FF2UL), "DR6.B1 for the second");
        Assert.That(InterceptTests.Read(t, LastFlags) & FlagRf, Is.Zero, "RF was clear at the second instruction");
        Assert.That((t.Core0.ReadRegister(GuestRegister.Rbx), t.Core0.ReadRegister(GuestRegister.Rdx)), Is.EqualTo((2UL, 3UL)), "every instruction ran once");
    }

    [Test]
    public void ResumeFlag_IretToAnInstructionBeforeTheBreakpoint_TheBreakpointFires()
    {
        // Arrange: the first #DB is a data breakpoint's (a trap: the handler returns after the write, RF set); the
        // execute breakpoint is on the instruction after that one, in the same block: RF was the first one's only.
        using TestVm t = Create(out ulong[] at, a =>
        {
            Label afterWrite = a.CreateLabel();
            Label target = a.CreateLabel();
            a.lea(rax, __[target]);
            a.mov(dr0, rax);
            a.mov(eax, (uint)Variable);
            a.mov(dr1, rax);
            a.mov(eax, (uint)(Dr7(0, Execute) | Dr7(1, Write4)));
            a.mov(dr7, rax);
            a.mov(__dword_ptr[Variable], ebx);
            a.Label(ref afterWrite);
            a.mov(ebx, 1);
            a.Label(ref target);
            a.mov(ecx, 2);
            a.hlt();
            return [afterWrite, target];
        });

        // Act
        t.Run();

        // Assert
        Assert.That(InterceptTests.Read(t, Count), Is.EqualTo(2));
        Assert.That((InterceptTests.Read(t, Hits), InterceptTests.Read(t, Hits + 8)), Is.EqualTo((at[0], at[1])));
        Assert.That(InterceptTests.Read(t, LastDr6), Is.EqualTo(0xFFFF_0FF1UL), "DR6.B0 for the execute breakpoint");
    }

    [Test]
    public void ResumeFlag_DebuggerBreakpointAtTheSecond_TheGuestsBreakpointThereStillFires()
    {
        // Arrange: as above, with the debugger's breakpoint on the second instruction: its halt restarts the block there,
        // which must not carry the RF the first instruction used.
        var halts = new BlockingCollection<VmHaltInfo>();
        using TestVm t = Create(out ulong[] at, a =>
        {
            Label first = a.CreateLabel();
            Label second = a.CreateLabel();
            a.lea(rax, __[first]);
            a.mov(dr0, rax);
            a.lea(rax, __[second]);
            a.mov(dr1, rax);
            a.mov(eax, (uint)(Dr7(0, Execute) | Dr7(1, Execute)));
            a.mov(dr7, rax);
            a.nop();
            a.Label(ref first);
            a.mov(ebx, 1);
            a.Label(ref second);
            a.mov(ecx, 2);
            a.hlt();
            return [first, second];
        });
        t.Vm.Halted += (_, h) => halts.Add(h);
        t.Vm.Start(initialBreak: true);
        Assert.That(Next(halts).Reason, Is.EqualTo(HaltReason.InitialBreak));
        t.Vm.AddCodeBreakpoint(at[1]);

        // Act / Assert: the guest's #DB at the first, then the debugger's halt at the second.
        t.Vm.Resume();
        VmHaltInfo halt = Next(halts);
        Assert.That((halt.Reason, halt.Core.ReadRegister(GuestRegister.Rip), InterceptTests.Read(t, Count)), Is.EqualTo((HaltReason.Breakpoint, at[1], 1UL)));

        // Continuing: the guest's #DB at the second; its handler returns there with RF, where the debugger's halts again.
        t.Vm.Resume();
        halt = Next(halts);
        Assert.That((halt.Reason, halt.Core.ReadRegister(GuestRegister.Rip)), Is.EqualTo((HaltReason.Breakpoint, at[1])));
        Assert.That(InterceptTests.Read(t, Count), Is.EqualTo(2), "the guest's #DB at the second ran in between");
        Assert.That((InterceptTests.Read(t, Hits + 8), InterceptTests.Read(t, LastDr6)), Is.EqualTo((at[1], 0xFFFF_0FF2UL)));
        t.Vm.Resume();
        VmStopInfo? stop = t.Vm.WaitForStop(s_wait);
        Assert.That(stop?.Reason, Is.EqualTo(VmStopReason.AllCoresHalted), stop?.Report);
        Assert.That((InterceptTests.Read(t, Count), t.Core0.ReadRegister(GuestRegister.Rcx)), Is.EqualTo((2UL, 2UL)));
    }
}
