// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Tests.Shared;
using HyperDbgRemote.VmxDriver.Devices;
using Iced.Intel;
using Microsoft.Extensions.Time.Testing;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// The PIC's INTR on core 0: small 64-bit guests program the 8259 pair (vector base 0x20), the test drives IRQ lines
/// from an I/O exit (on the core's own thread, so nothing depends on timing) or after the core sleeps in HLT, and the
/// handlers print to port 0xE9.
/// </summary>
public sealed class ExternalInterruptTests
{
    private const ulong Idt = TestVm.DataAddress;
    private const ulong Idtr = TestVm.DataAddress + 0x1000;
    private const byte SignalPort = 0x80;
    /// <summary>The byte <see cref="Handler"/> sets.</summary>
    internal const ulong Flag = TestVm.DataAddress + 0x3000;

    /// <summary>Spins until a handler set the flag (no assumption about when the interrupt is taken).</summary>
    private static void WaitForHandler(Assembler a)
    {
        Label wait = a.CreateLabel();
        a.Label(ref wait);
        a.cmp(__byte_ptr[Flag], 0);
        a.je(wait);
    }

    /// <summary>ICW1–ICW4 for both PICs (master base 0x20, slave 0x28, cascade on IRQ 2) and the master's mask.</summary>
    internal static void ProgramPics(Assembler a, byte masterMask)
    {
        foreach ((byte port, byte value) in (ReadOnlySpan<(byte, byte)>)[
            (0x20, 0x11), (0x21, 0x20), (0x21, 0x04), (0x21, 0x01),
            (0xA0, 0x11), (0xA1, 0x28), (0xA1, 0x02), (0xA1, 0x01),
            (0x21, masterMask), (0xA1, 0xFF)])
        {
            a.mov(al, value);
            a.@out(port, al);
        }
    }

    /// <summary>A handler that sets the flag, prints <paramref name="c"/>, sends a non-specific EOI and returns.</summary>
    internal static void Handler(Assembler a, ref Label label, char c)
    {
        a.Label(ref label);
        a.push(rax);
        a.mov(__byte_ptr[Flag], 1);
        a.mov(al, (byte)c);
        a.@out(0xE9, al);
        a.mov(al, 0x20);
        a.@out(0x20, al);
        a.pop(rax);
        a.iretq();
    }

    private static void Print(Assembler a, char c)
    {
        a.mov(al, (byte)c);
        a.@out(0xE9, al);
    }

    /// <summary>
    /// A guest whose IRQ 3 handler prints 'I': it programs the PICs (only IRQ 3 unmasked), runs <paramref name="body"/>,
    /// waits for the handler, prints 'B' and halts; an OUT to the signal port raises IRQ 3 from the exit.
    /// </summary>
    private static TestVm Irq3Guest(Action<Assembler> body)
    {
        TestVm t = TestVm.Create64(
            a =>
            {
                Label main = a.CreateLabel();
                Label handler = a.CreateLabel();
                a.jmp(main);
                Handler(a, ref handler, 'I');
                a.Label(ref main);
                a.lidt(__[Idtr]);
                ProgramPics(a, masterMask: 0xF7);
                body(a);
                WaitForHandler(a);
                Print(a, 'B');
                a.cli();
                a.hlt();
                return [handler];
            },
            out ulong[] labels);
        InterruptTests.WriteIdtGate(t, Idt, Idtr, 0x23, labels[0]);
        t.Core0.Controls.SetPort(SignalPort, true);
        t.Vm.ExitHandler = new RecordingExitHandler(_ => t.Devices.Pic.Line(3).Raise());
        return t;
    }

    [Test]
    public void Intr_RaisedJustBeforeSti_TakenAfterTheInstructionInStisShadow()
    {
        // Arrange: IRQ 3 rises at the OUT just before STI (IF=0: not taken); STI's shadow lets the OUT after it print
        // 'S' before the handler's 'I'; then 'B'.
        using TestVm t = Irq3Guest(a =>
        {
            Print(a, 'A');
            a.mov(al, (byte)'S');
            a.@out(SignalPort, al);
            a.sti();
            a.@out(0xE9, al);
        });

        // Act
        t.Run();

        // Assert
        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("ASIB"));
        Assert.That(t.Core0.ExternalInterruptsTaken, Is.EqualTo(1));
    }

    [Test]
    public void Intr_WhileIfIsClear_NotTaken_ThenTakenAfterSti()
    {
        // Arrange: IRQ 3 is raised, then 1,000 blocks run with IF=0 (nothing may be taken), 'A', STI, and the code
        // waits for the handler's flag before 'B'.
        using TestVm t = Irq3Guest(a =>
        {
            Label loop = a.CreateLabel();
            a.@out(SignalPort, al);
            a.mov(ecx, 1000);
            a.Label(ref loop);
            a.dec(ecx);
            a.jnz(loop);
            Print(a, 'A');
            a.sti();
        });

        // Act
        t.Run();

        // Assert
        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("AIB"));
        Assert.That(t.Core0.ExternalInterruptsTaken, Is.EqualTo(1));
    }

    [Test]
    public void Intr_PendingLongWhileIfIsClear_TakenWithinTheLongestPollAfterSti()
    {
        // Arrange: IRQ 3 is raised, then 1,000,000 blocks run with IF=0, so the core's looks at IF have backed off to
        // their longest wait; after STI each block of the wait loop counts itself in RBX until the handler runs.
        using TestVm t = Irq3Guest(a =>
        {
            Label loop = a.CreateLabel();
            Label wait = a.CreateLabel();
            a.@out(SignalPort, al);
            a.mov(ecx, 1_000_000);
            a.Label(ref loop);
            a.dec(ecx);
            a.jnz(loop);
            a.xor(ebx, ebx);
            a.sti();
            a.Label(ref wait);
            a.inc(rbx);
            a.cmp(__byte_ptr[Flag], 0);
            a.je(wait);
        });

        // Act
        t.Run();

        // Assert: taken, and no later than the longest wait between two looks (one block of slack for the STI's own).
        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("IB"));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.InRange(1UL, (ulong)Internal.Execution.ExternalInterrupts.IfClearPollMaxBlocks + 1));
    }

    [Test]
    public void Intr_TwoRequests_TheIrqOfHigherPriorityFirst_TheOtherAfterItsEoi()
    {
        // Arrange: IRQ 5 and IRQ 3 are raised together while IF=0; IRQ 3 has the higher priority. Each INTA
        // acknowledges one: after '3' and its EOI, IRET sets IF again and IRQ 5 is taken.
        using TestVm t = TestVm.Create64(
            a =>
            {
                Label main = a.CreateLabel();
                Label h3 = a.CreateLabel();
                Label h5 = a.CreateLabel();
                Label next = a.CreateLabel();
                a.jmp(main);
                Handler(a, ref h3, '3');
                Handler(a, ref h5, '5');
                a.Label(ref main);
                a.lidt(__[Idtr]);
                ProgramPics(a, masterMask: 0xD7);
                a.@out(SignalPort, al);
                a.sti();
                a.nop();
                a.jmp(next);
                a.Label(ref next);
                Print(a, 'E');
                a.cli();
                a.hlt();
                return [h3, h5];
            },
            out ulong[] labels);
        InterruptTests.WriteIdtGate(t, Idt, Idtr, 0x23, labels[0]);
        InterruptTests.WriteIdtGate(t, Idt, Idtr, 0x25, labels[1]);
        t.Core0.Controls.SetPort(SignalPort, true);
        t.Vm.ExitHandler = new RecordingExitHandler(_ =>
        {
            t.Devices.Pic.Line(5).Raise();
            t.Devices.Pic.Line(3).Raise();
        });

        // Act
        t.Run();

        // Assert
        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("35E"));
        Assert.That(t.Core0.ExternalInterruptsTaken, Is.EqualTo(2));
    }

    [Test]
    public void Hlt_WithIfSet_SleepsWithoutRunning_UntilAnIrqWakesIt()
    {
        // Arrange: STI; HLT with IRQ 4 unmasked and nothing raised. The core must sleep (not stop: an interrupt can
        // still come), and execute nothing while it sleeps.
        using TestVm t = TestVm.Create64(
            a =>
            {
                Label main = a.CreateLabel();
                Label h4 = a.CreateLabel();
                a.jmp(main);
                Handler(a, ref h4, 'I');
                a.Label(ref main);
                a.lidt(__[Idtr]);
                ProgramPics(a, masterMask: 0xEF);
                a.sti();
                a.hlt();
                Print(a, 'W');
                a.cli();
                a.hlt();
                return [h4];
            },
            out ulong[] labels);
        InterruptTests.WriteIdtGate(t, Idt, Idtr, 0x24, labels[0]);
        t.Vm.Start();
        Eventually.Until(() => t.Core0.State == CoreState.Idle, "core 0 sleeps in HLT");
        ulong blocks = t.Core0.BlocksExecuted;

        // Act: the wake-up's own path (IRQ raised from this thread).
        bool stoppedWhileAsleep = t.Vm.HasStopped;
        ulong blocksWhileAsleep = t.Core0.BlocksExecuted;
        t.Devices.Pic.Line(4).Raise();
        VmStopInfo? stop = t.Vm.WaitForStop(TimeSpan.FromMinutes(1));

        // Assert
        Assert.That(stoppedWhileAsleep, Is.False, "HLT with IF set waits for an interrupt instead of ending the run");
        Assert.That(blocksWhileAsleep, Is.EqualTo(blocks), "no guest block ran while the core slept");
        Assert.That(stop?.Reason, Is.EqualTo(VmStopReason.AllCoresHalted), "CLI; HLT at the end: nothing can wake it");
        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("IW"), "the handler ran, then the code after HLT");
    }

    [Test]
    public void Intr_RealMode_TakenThroughTheIvt()
    {
        // Arrange: a real-mode guest (as SeaBIOS): IVT[0x0B] -> handler for IRQ 3 with the master's base at 0x08.
        using TestVm t = TestVm.Create16(a =>
        {
            Label handler = a.CreateLabel();
            Label main = a.CreateLabel();
            Label next = a.CreateLabel();
            a.jmp(main);
            a.Label(ref handler);
            a.mov(al, (byte)'R');
            a.@out(0xE9, al);
            a.mov(al, 0x20);
            a.@out(0x20, al);
            a.iret();
            a.Label(ref main);
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(__word_ptr[0x0B * 4], 0x7C02);
            a.mov(__word_ptr[(0x0B * 4) + 2], 0);
            foreach ((byte port, byte value) in (ReadOnlySpan<(byte, byte)>)[(0x20, 0x11), (0x21, 0x08), (0x21, 0x04), (0x21, 0x01), (0x21, 0xF7)])
            {
                a.mov(al, value);
                a.@out(port, al);
            }

            a.@out(SignalPort, al);
            a.sti();
            a.nop();
            a.jmp(next);
            a.Label(ref next);
            a.mov(al, (byte)'E');
            a.@out(0xE9, al);
            a.cli();
            a.hlt();
        });
        t.Core0.Controls.SetPort(SignalPort, true);
        t.Vm.ExitHandler = new RecordingExitHandler(_ => t.Devices.Pic.Line(3).Raise());

        // Act
        t.Run();

        // Assert
        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("RE"));
    }

    [Test]
    public void PlatformTimer_ThrowsOnTheHostTimerThread_VmStopsWithAFaultReport_ProcessLives()
    {
        // Arrange: the core sleeps in HLT with IF set, so due timers fire on the host timer's thread (the fake clock's
        // Advance here); a device timer whose callback fails (a device model bug) is due 1 ms later.
        var host = new FakeTimeProvider();
        using TestVm t = TestVm.Create64(
            a =>
            {
                Label sleep = a.CreateLabel();
                ProgramPics(a, masterMask: 0xFF); // nothing interrupts the sleep
                a.sti();
                a.Label(ref sleep);
                a.hlt();
                a.jmp(sleep);
                return [];
            },
            out _,
            host);
        StopPitTimer(t, host);
        VirtualClock clock = t.Vm.Clock!;
        clock.CreateTimer(() => throw new InvalidOperationException("device model bug")).ArmAt(clock.NowNanoseconds + 1_000_000);
        t.Vm.Start();
        Eventually.Until(() => t.Core0.State == CoreState.Idle, "core 0 sleeps in HLT");

        // Act
        host.Advance(TimeSpan.FromMilliseconds(2));
        VmStopInfo? stop = t.Vm.WaitForStop(TimeSpan.FromMinutes(1));

        // Assert
        Assert.That(stop?.Reason, Is.EqualTo(VmStopReason.Fault));
        Assert.That(stop!.Report, Does.Contain("the platform's timers (host timer thread) failed").And.Contain("device model bug"));
        Assert.That(clock.HostTimerFailures, Is.EqualTo(1));
    }

    [Test]
    public void GuestTime_FrozenWhileTheVmIsHalted()
    {
        // Arrange: a fake host clock; the VM starts with an initial break (halted).
        var host = new FakeTimeProvider();
        using TestVm t = TestVm.Create64(
            a =>
            {
                a.hlt();
                return [];
            },
            out _,
            host);
        VirtualClock clock = t.Vm.Clock!;
        StopPitTimer(t, host);
        host.Advance(TimeSpan.FromSeconds(1));
        long beforeHalt = clock.NowNanoseconds;
        using var halted = new ManualResetEventSlim();
        t.Vm.Halted += (_, _) => halted.Set();

        // Act: halted for a minute of host time, then resumed for a second.
        t.Vm.Start(initialBreak: true);
        Assert.That(halted.Wait(TimeSpan.FromMinutes(1)), Is.True, "the initial break");
        bool frozen = clock.IsFrozen;
        host.Advance(TimeSpan.FromMinutes(1));
        long afterMinute = clock.NowNanoseconds;
        t.Vm.Resume();
        bool frozenAfterResume = clock.IsFrozen;
        host.Advance(TimeSpan.FromSeconds(1));
        long afterResume = clock.NowNanoseconds;

        // Assert
        Assert.That(frozen, Is.True);
        Assert.That(afterMinute, Is.EqualTo(beforeHalt), "the halted minute did not pass for the guest");
        Assert.That(frozenAfterResume, Is.False);
        Assert.That(afterResume, Is.EqualTo(beforeHalt + 1_000_000_000), "time runs again from where it stood");
    }

    [Test]
    public void GuestTime_StandsStillDuringASingleStep_RunsDuringAStepOver_AndAgainAfterResume()
    {
        // Arrange: site: out 0x80 (single-stepped); call f (stepped over; f does out 0x80 and returns); after: spin.
        // The exit handler records, on the core's own thread, whether guest time was frozen at each OUT.
        var host = new FakeTimeProvider();
        using TestVm t = TestVm.Create64(
            a =>
            {
                Label site = a.CreateLabel();
                Label call = a.CreateLabel();
                Label after = a.CreateLabel();
                Label f = a.CreateLabel();
                a.Label(ref site);
                a.@out(SignalPort, al);
                a.Label(ref call);
                a.call(f);
                a.Label(ref after);
                a.pause();
                a.jmp(after);
                a.Label(ref f);
                a.@out(SignalPort, al);
                a.ret();
                return [site, call, after];
            },
            out ulong[] labels,
            host);
        VirtualClock clock = t.Vm.Clock!;
        StopPitTimer(t, host);
        var frozenAtOut = new List<bool>();
        t.Core0.Controls.SetPort(SignalPort, true);
        t.Vm.ExitHandler = new RecordingExitHandler(_ => frozenAtOut.Add(clock.IsFrozen));
        using var halts = new System.Collections.Concurrent.BlockingCollection<VmHaltInfo>();
        t.Vm.Halted += (_, info) => halts.Add(info);
        HaltReason Next() => halts.TryTake(out VmHaltInfo? info, TimeSpan.FromMinutes(1)) ? info.Reason : (HaltReason)(-1);

        // Act: the initial break, a single step over the OUT, a step over the call, then go.
        t.Vm.Start(initialBreak: true);
        Assert.That(Next(), Is.EqualTo(HaltReason.InitialBreak));
        Assert.That(t.Vm.Step(t.Core0), Is.True);
        HaltReason afterStep = Next();
        ulong ripAfterStep = t.Core0.ReadRegister(GuestRegister.Rip);
        Assert.That(t.Vm.StepOver(t.Core0, labels[2]), Is.True);
        HaltReason afterStepOver = Next();
        bool frozenWhileHalted = clock.IsFrozen;
        Assert.That(t.Vm.Resume(), Is.True);
        bool frozenAfterResume = clock.IsFrozen;
        long before = clock.NowNanoseconds;
        host.Advance(TimeSpan.FromSeconds(1));
        long after = clock.NowNanoseconds;
        t.Vm.Stop();

        // Assert
        Assert.That((afterStep, ripAfterStep, afterStepOver), Is.EqualTo((HaltReason.Step, labels[1], HaltReason.Step)));
        Assert.That(frozenAtOut, Is.EqualTo(new[] { true, false }), "a single step keeps time still; a step over a call lets it run");
        Assert.That(frozenWhileHalted, Is.True);
        Assert.That(frozenAfterResume, Is.False, "time runs again after the steps");
        Assert.That(after - before, Is.EqualTo(1_000_000_000));
    }

    /// <summary>
    /// Leaves the machine without an armed timer, so guest time follows the fake host clock exactly while the core runs:
    /// PIT channel 0 one-shot (mode 0) with a count of 1 reaches its terminal count at once and arms nothing after it. (A
    /// core running guest code owes the timers due; guest time waits for it to fire them, VirtualClock's remarks.)
    /// </summary>
    private static void StopPitTimer(TestVm t, FakeTimeProvider host)
    {
        t.Vm.Ports.Write(0x43, 1, 0x30);
        t.Vm.Ports.Write(0x40, 1, 0x01);
        t.Vm.Ports.Write(0x40, 1, 0x00);
        host.Advance(TimeSpan.FromMicroseconds(1));
        Assert.That(t.Vm.Clock!.NextDeadline, Is.Null, "no timer armed");
    }
}
