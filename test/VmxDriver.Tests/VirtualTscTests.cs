// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Unicorn;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// The guest's TSC stands still while the VM is halted (docs/vmx-driver.md, "Guest time"): each core's TSC offset is
/// lowered by the host ticks spent halted. Held without timing assumptions: across a halt, the guest's TSC delta is at
/// most the host's delta around the whole run minus exactly the ticks the VM recorded as halted, which cover the time
/// the test held the halt.
/// </summary>
public sealed class VirtualTscTests
{
    [Test]
    public void AcrossABreakpointHalt_GuestTscDelta_IsAtMostTheHostDeltaMinusTheTicksRecordedAsHalted()
    {
        // Arrange: RDTSC into R8, a breakpoint (the VM halts there), RDTSC into R9.
        ulong[] at = [];
        using TestVm t = TestVm.Create64(a =>
        {
            Label stop = a.CreateLabel();
            a.rdtsc();
            a.shl(rdx, 32);
            a.or(rdx, rax);
            a.mov(r8, rdx);
            a.Label(ref stop);
            a.nop();
            a.rdtsc();
            a.shl(rdx, 32);
            a.or(rdx, rax);
            a.mov(r9, rdx);
            a.hlt();
            return [stop];
        }, out at);
        t.Vm.AddCodeBreakpoint(at[0]);
        using var halted = new ManualResetEventSlim();
        t.Vm.Halted += (_, _) => halted.Set();

        // Act: hold the halt until the host's counter moved on by four times what it took to get there (a spin on the
        // counter itself, so the halt dominates the run whatever the host's speed), then resume.
        ulong h0 = HostTsc.Read();
        t.Vm.Start();
        Assert.That(halted.Wait(TimeSpan.FromMinutes(1)), Is.True, "the breakpoint");
        ulong hA = HostTsc.Read();
        while (HostTsc.Read() - hA < 4 * (hA - h0))
        {
            Thread.SpinWait(1000);
        }

        ulong hB = HostTsc.Read();
        t.Vm.RemoveCodeBreakpoint(at[0]);
        Assert.That(t.Vm.Resume(), Is.True);
        Assert.That(t.Vm.WaitForStop(TimeSpan.FromMinutes(1)), Is.Not.Null);
        ulong h1 = HostTsc.Read();

        // Assert
        ulong guestDelta = t.Core0.ReadRegister(GuestRegister.R9) - t.Core0.ReadRegister(GuestRegister.R8);
        ulong recorded = (ulong)t.Vm.TscFrozenTicks;
        Assert.That(recorded, Is.GreaterThanOrEqualTo(hB - hA), "the recorded halt covers the time the test held it");
        Assert.That(t.Core0.ReadRegister(GuestRegister.R9), Is.GreaterThan(t.Core0.ReadRegister(GuestRegister.R8)), "the TSC still counts up");
        Assert.That(guestDelta, Is.LessThanOrEqualTo(h1 - h0 - recorded), "the guest's TSC stood still while halted");
        Assert.That(t.Core0.Context.TscOffset, Is.EqualTo(-(long)recorded));
    }
}
