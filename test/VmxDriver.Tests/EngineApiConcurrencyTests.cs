// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// Two threads using one halted core at once, as the agent does (the core's own thread describes its halt to the
/// Halted listeners while a request thread answers the pause with the same registers). Unicorn's MSR API borrows the
/// guest's RAX, RCX and RDX for the call (it puts the MSR's number into RCX, runs the RDMSR helper and puts the three
/// back), and every register read of a core reads EFER to pick the register width; with the platform's SVM MSR
/// intercept active, a borrowed RCX of the other thread seen by the helper's permission-map check made it exit out of
/// the API call: the flat64 guest took #GP(0) at its first instruction and triple-faulted, or the process crashed
/// (the RegisterCommandsTests flake of the first SVM attempt). The engine's API is used under one lock per core.
/// </summary>
public sealed class EngineApiConcurrencyTests
{
    private const ulong GuestRcx = 0x5A5A_1234_8765_A5A5;
    private const ulong GuestRax = 0x1111_2222_3333_4444;
    private const ulong GuestRdx = 0x5555_6666_7777_8888;
    private const int ReadsPerThread = 20_000;

    [Test]
    public void TwoThreadsReadingAHaltedCoresRegistersAndEfer_SeeTheGuestsValues_AndTheGuestRunsOnUnharmed()
    {
        // Arrange: RCX, RAX and RDX set, a breakpoint, then the guest copies them to R8-R10 and halts.
        ulong[] at = [];
        using TestVm t = TestVm.Create64(a =>
        {
            Label stop = a.CreateLabel();
            a.mov(rcx, GuestRcx);
            a.mov(rax, GuestRax);
            a.mov(rdx, GuestRdx);
            a.Label(ref stop);
            a.mov(r8, rcx);
            a.mov(r9, rax);
            a.mov(r10, rdx);
            a.hlt();
            return [stop];
        }, out at);
        t.Vm.AddCodeBreakpoint(at[0]);
        using var halted = new ManualResetEventSlim();
        t.Vm.Halted += (_, _) => halted.Set();
        t.Vm.Start();
        Assert.That(halted.Wait(TimeSpan.FromMinutes(1)), Is.True, "the breakpoint");

        // Act: two threads, started together, each reading EFER and RCX many times (every read also reads EFER).
        using var start = new Barrier(2);
        var wrong = new System.Collections.Concurrent.ConcurrentBag<string>();
        void Reader(GuestRegister other)
        {
            start.SignalAndWait();
            for (int i = 0; i < ReadsPerThread && wrong.IsEmpty; i++)
            {
                ulong efer = t.Core0.ReadRegister(GuestRegister.Efer);
                ulong value = t.Core0.ReadRegister(other);
                ulong expected = other == GuestRegister.Rcx ? GuestRcx : GuestRdx;
                if ((efer & 0x400) == 0 || value != expected)
                {
                    wrong.Add($"read {i}: EFER 0x{efer:X}, {other} 0x{value:X} (expected 0x{expected:X})");
                }
            }
        }

        var first = new Thread(() => Reader(GuestRegister.Rcx));
        var second = new Thread(() => Reader(GuestRegister.Rdx));
        first.Start();
        second.Start();
        first.Join();
        second.Join();
        t.Vm.RemoveCodeBreakpoint(at[0]);
        Assert.That(t.Vm.Resume(), Is.True);
        VmStopInfo? stop = t.Vm.WaitForStop(TimeSpan.FromMinutes(1));

        // Assert
        Assert.That(wrong, Is.Empty, "every read saw the guest's registers and EFER.LMA");
        Assert.That(stop, Is.Not.Null);
        Assert.That(stop!.Reason, Is.Not.EqualTo(VmStopReason.Fault), stop.Report);
        Assert.That(t.Core0.ReadRegister(GuestRegister.R8), Is.EqualTo(GuestRcx), "RCX as the guest left it");
        Assert.That(t.Core0.ReadRegister(GuestRegister.R9), Is.EqualTo(GuestRax), "RAX as the guest left it");
        Assert.That(t.Core0.ReadRegister(GuestRegister.R10), Is.EqualTo(GuestRdx), "RDX as the guest left it");
    }
}
