// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Collections.Concurrent;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>Code breakpoints and single-stepping on small assembled guests; every wait is on a halt, never a sleep.</summary>
public sealed partial class BreakpointTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    /// <summary>A guest started halted at its initial break, its labels resolved, and its halts queued.</summary>
    private sealed class Guest : IDisposable
    {
        private readonly BlockingCollection<VmHaltInfo> _halts = [];

        public Guest(TestVm vm, ulong[] labels)
        {
            T = vm;
            Labels = labels;
            vm.Vm.Halted += (_, h) => _halts.Add(h);
            vm.Vm.Start(initialBreak: true);
            Assert.That(Next().Reason, Is.EqualTo(HaltReason.InitialBreak));
        }

        public TestVm T { get; }

        public ulong[] Labels { get; }

        public VirtualMachine Vm => T.Vm;

        public VmHaltInfo Next()
        {
            Assert.That(_halts.TryTake(out VmHaltInfo? h, s_wait), Is.True, "the VM halted");
            return h!;
        }

        public VmStopInfo Finish()
        {
            VmStopInfo? stop = Vm.WaitForStop(s_wait);
            Assert.That(stop?.Reason, Is.EqualTo(VmStopReason.AllCoresHalted), stop?.Report);
            return stop!;
        }

        public void Dispose()
        {
            T.Dispose();
            _halts.Dispose();
        }
    }

    private static Guest Start(Func<Assembler, IReadOnlyList<Label>> program, int cores = 1)
    {
        (_, ulong[] labels) = TestVm.Assemble(64, TestVm.LoadAddress, program);
        TestVm vm = cores == 1 ? TestVm.Create64(a => program(a)) : TestVm.CreateMulti64(program, cores);
        return new Guest(vm, labels);
    }

    private static ulong Rip(Vcpu core) => core.ReadRegister(GuestRegister.Rip);

    [Test]
    public void AddCodeBreakpoint_Reached_HaltsBeforeTheInstructionExecutes()
    {
        // Arrange: mov eax,1; at: mov eax,2; hlt.
        using Guest g = Start(a =>
        {
            Label at = a.CreateLabel();
            a.mov(eax, 1);
            a.Label(ref at);
            a.mov(eax, 2);
            a.hlt();
            return [at];
        });
        ulong at = g.Labels[0];

        // Act
        Assert.That(g.Vm.AddCodeBreakpoint(at), Is.True);
        Assert.That(g.Vm.AddCodeBreakpoint(at), Is.False, "a second one at the same address");
        g.Vm.Resume();
        VmHaltInfo halt = g.Next();

        // Assert
        Assert.That((halt.Reason, halt.Tag, Rip(halt.Core)), Is.EqualTo((HaltReason.Breakpoint, (object)at, at)));
        Assert.That(halt.Core.ReadRegister(GuestRegister.Rax), Is.EqualTo(1), "the instruction at the breakpoint has not run");
        g.Vm.Resume();
        g.Finish();
        Assert.That(g.T.Core0.ReadRegister(GuestRegister.Rax), Is.EqualTo(2), "continuing runs it once, without a second halt");
    }

    [Test]
    public void AddCodeBreakpoint_InALoop_HitsOncePerIteration([Values(false, true)] bool oneInstructionLoop)
    {
        // Arrange: a loop of five iterations whose first instruction has the breakpoint (alone in its loop, or not).
        using Guest g = Start(a =>
        {
            Label loop = a.CreateLabel();
            a.mov(ecx, 5);
            a.xor(ebx, ebx);
            a.Label(ref loop);
            if (oneInstructionLoop)
            {
                a.loop(loop);
            }
            else
            {
                a.inc(ebx);
                a.dec(ecx);
                a.jnz(loop);
            }

            a.hlt();
            return [loop];
        });
        g.Vm.AddCodeBreakpoint(g.Labels[0]);

        // Act / Assert: the count register says which iteration is about to run.
        for (ulong expected = 5; expected >= 1; expected--)
        {
            g.Vm.Resume();
            VmHaltInfo halt = g.Next();
            Assert.That(halt.Reason, Is.EqualTo(HaltReason.Breakpoint));
            Assert.That(halt.Core.ReadRegister(GuestRegister.Rcx), Is.EqualTo(expected));
        }

        g.Vm.Resume();
        g.Finish();
        Assert.That(g.T.Core0.ReadRegister(GuestRegister.Rcx), Is.Zero);
    }

    [Test]
    public void RemoveCodeBreakpoint_NoLongerHalts()
    {
        using Guest g = Start(a =>
        {
            Label at = a.CreateLabel();
            a.Label(ref at);
            a.mov(eax, 2);
            a.hlt();
            return [at];
        });
        g.Vm.AddCodeBreakpoint(g.Labels[0] + 5);
        Assert.That(g.Vm.RemoveCodeBreakpoint(g.Labels[0] + 5), Is.True);
        Assert.That(g.Vm.RemoveCodeBreakpoint(g.Labels[0] + 5), Is.False);
        Assert.That(g.Vm.CodeBreakpoints, Is.Empty);
        g.Vm.Resume();
        g.Finish();
    }

    [Test]
    public void Step_FromInitialBreak_ExecutesOneInstructionEachTime()
    {
        // Arrange: mov eax,1; jmp over; (skipped) mov eax,9; over: inc eax; hlt.
        using Guest g = Start(a =>
        {
            Label second = a.CreateLabel();
            Label over = a.CreateLabel();
            a.mov(eax, 1);
            a.Label(ref second);
            a.jmp(over);
            a.mov(eax, 9);
            a.Label(ref over);
            a.inc(eax);
            a.hlt();
            return [second, over];
        });
        Vcpu core = g.T.Core0;

        // Act / Assert
        Assert.That(g.Vm.Step(core), Is.True);
        Assert.That((g.Next().Reason, Rip(core), core.ReadRegister(GuestRegister.Rax)), Is.EqualTo((HaltReason.Step, g.Labels[0], 1UL)));
        g.Vm.Step(core);
        Assert.That((g.Next().Reason, Rip(core)), Is.EqualTo((HaltReason.Step, g.Labels[1])), "the jump is taken");
        g.Vm.Step(core);
        Assert.That((g.Next().Reason, Rip(core), core.ReadRegister(GuestRegister.Rax)), Is.EqualTo((HaltReason.Step, g.Labels[1] + 2, 2UL)));
        Assert.That(g.Vm.Step(core), Is.True, "stepping the HLT");
        Assert.That(g.Next().Reason, Is.EqualTo(HaltReason.Step));
        Assert.That(Rip(core), Is.EqualTo(g.Labels[1] + 3), "after the HLT");
        g.Vm.Resume();
        g.Finish();
    }

    [Test]
    public void Step_FromABreakpoint_LeavesItAndContinueHitsItAgain()
    {
        using Guest g = Start(a =>
        {
            Label loop = a.CreateLabel();
            a.mov(ecx, 2);
            a.Label(ref loop);
            a.add(ebx, 3);
            a.dec(ecx);
            a.jnz(loop);
            a.hlt();
            return [loop];
        });
        Vcpu core = g.T.Core0;
        g.Vm.AddCodeBreakpoint(g.Labels[0]);
        g.Vm.Resume();
        Assert.That(g.Next().Reason, Is.EqualTo(HaltReason.Breakpoint));

        // Act: step off the breakpoint, then continue into the next iteration.
        g.Vm.Step(core);
        VmHaltInfo step = g.Next();
        Assert.That((Rip(core), core.ReadRegister(GuestRegister.Rbx)), Is.EqualTo((g.Labels[0] + 3, 3UL)), "after add ebx,3");
        g.Vm.Resume();
        VmHaltInfo again = g.Next();

        // Assert
        Assert.That(step.Reason, Is.EqualTo(HaltReason.Step));
        Assert.That(again.Reason, Is.EqualTo(HaltReason.Breakpoint));
        Assert.That((Rip(core), core.ReadRegister(GuestRegister.Rbx), core.ReadRegister(GuestRegister.Rcx)), Is.EqualTo((g.Labels[0], 3UL, 1UL)));
        g.Vm.Resume();
        g.Finish();
    }

    [Test]
    public void WriteRegister_RipWithItsOwnValue_DoesNotPerturbExecution()
    {
        // Arrange: halted at a breakpoint.
        using Guest g = Start(a =>
        {
            Label at = a.CreateLabel();
            a.mov(eax, 1);
            a.Label(ref at);
            a.inc(eax);
            a.hlt();
            return [at];
        });
        g.Vm.AddCodeBreakpoint(g.Labels[0]);
        g.Vm.Resume();
        VmHaltInfo halt = g.Next();

        // Act: what a debugger writing back every register does.
        halt.Core.WriteRegister(GuestRegister.Rip, Rip(halt.Core));
        g.Vm.Resume();

        // Assert: no second halt at the same place, and the instruction ran exactly once.
        g.Finish();
        Assert.That(g.T.Core0.ReadRegister(GuestRegister.Rax), Is.EqualTo(2));
    }

    [Test]
    public void Step_OneCoreOfTwo_TheOtherStaysWhereItIs()
    {
        // Arrange: two cores each counting in their own register forever.
        using Guest g = Start(
            a =>
            {
                Label c1 = a.CreateLabel();
                Label l0 = a.CreateLabel();
                Label l1 = a.CreateLabel();
                a.Label(ref l0);
                a.inc(rbx);
                a.jmp(l0);
                a.Label(ref c1);
                a.nop();
                a.Label(ref l1);
                a.inc(rdx);
                a.jmp(l1);
                return [l0, c1];
            },
            cores: 2);
        Vcpu core0 = g.Vm.Cores[0];
        Vcpu core1 = g.Vm.Cores[1];
        ulong counted = core0.ReadRegister(GuestRegister.Rbx);

        // Act: step core 1 four times (nop, inc, jmp, inc).
        for (int i = 0; i < 4; i++)
        {
            Assert.That(g.Vm.Step(core1), Is.True);
            VmHaltInfo halt = g.Next();
            Assert.That((halt.Reason, halt.Core.Index), Is.EqualTo((HaltReason.Step, 1)));
        }

        // Assert
        Assert.That(core1.ReadRegister(GuestRegister.Rdx), Is.EqualTo(2));
        Assert.That(core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(counted), "core 0 did not run");
        g.Vm.Stop();
    }
}
