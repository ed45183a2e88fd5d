// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Tests.Shared;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

public sealed class PauseTests
{
    [Test]
    public void Pause_LoopWithMemoryStore_StopsAtInstructionBoundaryAndResumesExactly()
    {
        // Arrange: inc rbx; inc [mem]; inc rax in a loop: at any instruction boundary between loops, all three agree.
        const ulong counter = TestVm.DataAddress;
        using TestVm t = TestVm.Create64(a =>
        {
            var loop = a.CreateLabel();
            a.xor(eax, eax);
            a.xor(ebx, ebx);
            a.Label(ref loop);
            a.inc(rbx);
            a.inc(__qword_ptr[counter]);
            a.inc(rax);
            a.cmp(__qword_ptr[counter + 8], 0);
            a.je(loop);
            a.hlt();
        });
        t.Vm.Start();

        // Act / Assert
        ulong last = 0;
        for (int round = 0; round < 20; round++)
        {
            Thread.Sleep(5);
            Assert.That(t.Vm.Pause(TimeSpan.FromSeconds(5)), Is.True, $"round {round}: paused");
            Assert.That(t.Vm.CurrentHalt?.Reason, Is.EqualTo(HaltReason.BreakIn));
            ulong rax = t.Core0.ReadRegister(GuestRegister.Rax);
            ulong rbx = t.Core0.ReadRegister(GuestRegister.Rbx);
            t.Vm.Memory.TryRead(counter, out ulong mem);
            Assert.That((rbx, mem), Is.EqualTo((rax, rax)), $"round {round}: no replayed or lost instruction");
            Assert.That(rax, Is.GreaterThan(last), $"round {round}: the guest made progress");
            last = rax;
            Assert.That(t.Vm.Resume(), Is.True);
        }

        t.Vm.Memory.TryWrite(counter + 8, 1UL);
        Assert.That(t.Vm.WaitForStop(TimeSpan.FromSeconds(5))?.Reason, Is.EqualTo(VmStopReason.AllCoresHalted));
        t.Vm.Memory.TryRead(counter, out ulong final);
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rax), Is.EqualTo(final));
    }

    [Test]
    public void Pause_Latency_HaltsWithinAFewMilliseconds()
    {
        using TestVm t = TestVm.Create64(a =>
        {
            var loop = a.CreateLabel();
            a.Label(ref loop);
            a.inc(rax);
            a.jmp(loop);
        });
        t.Vm.Start();
        Eventually.Until(() => t.Core0.BlocksExecuted > 1000, "the loop runs");

        // The bound only catches a hang: the benchmark measures the real latency.
        Assert.That(t.Vm.Pause(TimeSpan.FromMinutes(1)), Is.True);
        t.Vm.Resume();
    }
}
