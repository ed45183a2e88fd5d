// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Collections.Concurrent;
using Iced.Intel;
using static HyperDbgRemote.VmxDriver.Tests.Privilege.RingGuest;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests.Privilege;

/// <summary>
/// Code breakpoints in ring-3 code: halting there and resuming leaves the core at CPL 3 and the program runs on to its
/// end (its final HLT at CPL 3 raises #GP, whose ring-0 handler records the CS pushed), with the breakpoint kept or
/// removed while halted. Every wait is on a halt. (A report of a triple fault at vector 0 after such a resume was the
/// PIT's IRQ 0 through the uninitialised 8259s, not the breakpoint: see <see cref="RingGuest"/>.)
/// </summary>
public sealed class RingBreakpointTests
{
    private const ulong User = Results + 0x100;
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    [TestCase(0UL, false, Description = "at the first instruction, kept")]
    [TestCase(1UL, false, Description = "at the second instruction, kept")]
    [TestCase(0UL, true, Description = "at the first instruction, removed while halted")]
    [TestCase(1UL, true, Description = "at the second instruction, removed while halted")]
    public void Breakpoint_InRing3_ResumeRunsTheProgramToItsEndAtCpl3(ulong offset, bool removeWhileHalted)
    {
        // Arrange: nop; nop; nop; record CS/SS/RSP/RFLAGS; HLT (#GP at CPL 3).
        using TestVm t = Create(a =>
        {
            a.nop();
            a.nop();
            a.nop();
            a.mov(rbx, 0x5A);
            RecordUserAndEnd(a, User);
        });
        using var halts = new BlockingCollection<VmHaltInfo>();
        t.Vm.Halted += (_, h) => halts.Add(h);
        t.Vm.Start(initialBreak: true);
        Assert.That(Next(halts).Reason, Is.EqualTo(HaltReason.InitialBreak));
        ulong at = UserCode + offset;
        t.Vm.AddCodeBreakpoint(at);

        // Act
        t.Vm.Resume();
        VmHaltInfo halt = Next(halts);
        Assert.That((halt.Reason, halt.Core.ReadRegister(GuestRegister.Rip)), Is.EqualTo((HaltReason.Breakpoint, at)));
        Assert.That(halt.Core.ReadRegister(GuestRegister.Cs), Is.EqualTo(UserCs), "halted in ring 3");
        if (removeWhileHalted)
        {
            Assert.That(t.Vm.RemoveCodeBreakpoint(at), Is.True);
        }

        t.Vm.Resume();

        // Assert
        AssertEndedInRing3(t);
    }

    [Test]
    public void Breakpoint_InARing3Loop_HitsOncePerIterationAndTheProgramEndsAtCpl3()
    {
        // Arrange: three iterations of nop; dec ecx; jnz, the breakpoint on the NOP.
        const ulong LoopAt = UserCode + 5; // after mov ecx, imm32
        using TestVm t = Create(a =>
        {
            Label loop = a.CreateLabel();
            a.mov(ecx, 3);
            a.Label(ref loop);
            a.nop();
            a.dec(ecx);
            a.jnz(loop);
            a.mov(rbx, 0x5A);
            RecordUserAndEnd(a, User);
        });
        using var halts = new BlockingCollection<VmHaltInfo>();
        t.Vm.Halted += (_, h) => halts.Add(h);
        t.Vm.Start(initialBreak: true);
        Assert.That(Next(halts).Reason, Is.EqualTo(HaltReason.InitialBreak));
        t.Vm.AddCodeBreakpoint(LoopAt);

        // Act / Assert: RCX says which iteration is about to run.
        for (ulong expected = 3; expected >= 1; expected--)
        {
            t.Vm.Resume();
            VmHaltInfo halt = Next(halts);
            Assert.That((halt.Reason, halt.Core.ReadRegister(GuestRegister.Rip), halt.Core.ReadRegister(GuestRegister.Rcx)), Is.EqualTo((HaltReason.Breakpoint, LoopAt, expected)));
        }

        t.Vm.Resume();
        AssertEndedInRing3(t);
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rcx), Is.Zero);
    }

    private static VmHaltInfo Next(BlockingCollection<VmHaltInfo> halts)
    {
        Assert.That(halts.TryTake(out VmHaltInfo? h, s_wait), Is.True, "the VM halted");
        return h!;
    }

    private static void AssertEndedInRing3(TestVm t)
    {
        VmStopInfo? stop = t.Vm.WaitForStop(s_wait);
        Assert.That(stop?.Reason, Is.EqualTo(VmStopReason.AllCoresHalted), stop?.Report);
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(0x5A), "the program ran on after the breakpoint");
        Assert.That(Read(t.Vm.Memory, User), Is.EqualTo(UserCs), "CS at the end of the user program");
        Assert.That(Read(t.Vm.Memory, User + 8), Is.EqualTo(UserSs), "SS at the end of the user program");
        Assert.That(Read(t.Vm.Memory, Results + 0xF00), Is.Zero, "the final HLT at CPL 3 raised #GP(0)");
        Assert.That(Read(t.Vm.Memory, Results + 0xF08), Is.EqualTo(UserCs), "from ring 3");
    }
}
