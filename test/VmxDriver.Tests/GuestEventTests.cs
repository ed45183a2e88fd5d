// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Collections.Concurrent;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// CPUID, exception, external-interrupt and SYSCALL events (<see cref="IVmExitHandler.OnGuestEvent"/>): what the pre and
/// post stages see ($context, RIP), what skipping does, that nothing is reported unless asked for, and a halt inside an
/// event. Small 64-bit guests; the handlers print to port 0xE9.
/// </summary>
public sealed class GuestEventTests
{
    private const ulong Idt = TestVm.DataAddress;
    private const ulong Idtr = TestVm.DataAddress + 0x1000;
    private const ulong Handlers = TestVm.DataAddress + 0x2000;
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    private sealed record Seen(GuestEventKinds Kind, ExitStage Stage, ulong Context, ulong Rip, ulong RipNow, ulong Rax, ulong Rbx);

    /// <summary>Records every event with RIP, RAX and RBX at the callback; <paramref name="action"/> acts in each stage.</summary>
    private sealed class Handler(Action<GuestEventExit>? action = null) : IVmExitHandler
    {
        public ConcurrentQueue<Seen> Events { get; } = [];

        public void OnIoExit(IoExit ioExit)
        {
        }

        public void OnGuestEvent(GuestEventExit guestEvent)
        {
            Vcpu c = guestEvent.Core;
            Events.Enqueue(new Seen(guestEvent.Kind, guestEvent.Stage, guestEvent.Context, guestEvent.Rip, c.ReadRegister(GuestRegister.Rip), c.ReadRegister(GuestRegister.Rax), c.ReadRegister(GuestRegister.Rbx)));
            action?.Invoke(guestEvent);
        }
    }

    private static TestVm CpuidGuest(out ulong cpuidAt) => Guest(a =>
    {
        Label at = a.CreateLabel();
        a.mov(eax, 0x4000_0000);
        a.mov(ebx, 0x1234);
        a.Label(ref at);
        a.cpuid();
        a.hlt();
        return [at];
    }, out cpuidAt);

    private static TestVm Guest(Func<Assembler, IReadOnlyList<Label>> program, out ulong label)
    {
        TestVm t = TestVm.Create64(program, out ulong[] labels);
        label = labels.Length > 0 ? labels[0] : 0;
        return t;
    }

    [Test]
    public void Cpuid_PreSeesTheLeafAndRipAtTheInstruction_PostSeesTheResults()
    {
        using TestVm t = CpuidGuest(out ulong cpuidAt);
        var handler = new Handler(e => e.PostStageRequested = true);
        t.Vm.ExitHandler = handler;
        t.Vm.TrappedGuestEvents = GuestEventKinds.Cpuid;

        t.Run();

        Seen[] seen = [.. handler.Events];
        Assert.That(seen, Has.Length.EqualTo(2));
        Assert.That(seen[0], Is.EqualTo(new Seen(GuestEventKinds.Cpuid, ExitStage.Pre, 0x4000_0000, cpuidAt, cpuidAt, 0x4000_0000, 0x1234)));
        Assert.That(seen[1].Stage, Is.EqualTo(ExitStage.Post));
        Assert.That(seen[1].Rax, Is.EqualTo(0x4000_0000UL), "the hypervisor leaf's EAX: its own number");
        Assert.That(seen[1].Rbx, Is.EqualTo(0x6570_7948UL), "'Hype' of HyperDbgRmt");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(0x6570_7948UL));
    }

    [Test]
    public void Cpuid_PreStageChangesTheLeaf_TheTableAnswersTheNewOne()
    {
        using TestVm t = CpuidGuest(out _);
        t.Vm.ExitHandler = new Handler(e => e.Core.WriteRegister(GuestRegister.Rax, 0));
        t.Vm.TrappedGuestEvents = GuestEventKinds.Cpuid;

        t.Run();

        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(0x6874_7541UL), "leaf 0's vendor ('Auth')");
    }

    [Test]
    public void Cpuid_Skipped_LeavesTheRegistersAndContinuesAfterIt()
    {
        using TestVm t = CpuidGuest(out _);
        t.Vm.ExitHandler = new Handler(e => e.SkipInstruction = true);
        t.Vm.TrappedGuestEvents = GuestEventKinds.Cpuid;

        t.Run();

        Assert.That(t.Core0.ReadRegister(GuestRegister.Rax), Is.EqualTo(0x4000_0000UL));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(0x1234UL));
    }

    [Test]
    public void NothingTrapped_NoEventIsReported()
    {
        using TestVm t = CpuidGuest(out _);
        var handler = new Handler();
        t.Vm.ExitHandler = handler;
        t.Vm.TrappedGuestEvents = GuestEventKinds.Exception | GuestEventKinds.Interrupt | GuestEventKinds.Syscall;

        t.Run();

        Assert.That(handler.Events, Is.Empty);
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(0x6570_7948UL));
    }

    [Test]
    public void Cpuid_HaltInsideTheEvent_RipAtTheInstruction_ResumeCompletesIt()
    {
        using TestVm t = CpuidGuest(out ulong cpuidAt);
        var halts = new BlockingCollection<VmHaltInfo>();
        t.Vm.Halted += (_, h) => halts.Add(h);
        t.Vm.ExitHandler = new Handler(e => t.Vm.Halt(e.Core, e, "cpuid"));
        t.Vm.TrappedGuestEvents = GuestEventKinds.Cpuid;

        t.Vm.Start();
        Assert.That(halts.TryTake(out VmHaltInfo? halt, s_wait), Is.True, "halted in the CPUID event");

        Assert.That(halt!.GuestEvent?.Kind, Is.EqualTo(GuestEventKinds.Cpuid));
        Assert.That(halt.Tag, Is.EqualTo("cpuid"));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rip), Is.EqualTo(cpuidAt));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(0x1234UL), "not executed yet");
        t.Vm.Resume();
        Assert.That(t.Vm.WaitForStop(s_wait)?.Reason, Is.EqualTo(VmStopReason.AllCoresHalted));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(0x6570_7948UL));
    }

    /// <summary>INT3 (a #BP exception), then UD2 (#UD at the instruction); each handler prints and skips 2 bytes for #UD.</summary>
    private static TestVm ExceptionGuest(out ulong int3At, out ulong ud2At)
    {
        TestVm t = TestVm.Create64(
            a =>
            {
                Label i3 = a.CreateLabel();
                Label ud = a.CreateLabel();
                a.lidt(__[Idtr]);
                a.Label(ref i3);
                a.int3();
                a.Label(ref ud);
                a.ud2();
                a.mov(al, (byte)'M');
                a.@out(0xE9, al);
                a.@int(0x40);
                a.hlt();
                return [i3, ud];
            },
            out ulong[] labels);
        (int3At, ud2At) = (labels[0], labels[1]);
        foreach ((int vector, char mark, int skip) in (ReadOnlySpan<(int, char, int)>)[(3, 'B', 0), (6, 'U', 2), (0x40, 'N', 0)])
        {
            ulong at = Handlers + ((ulong)vector * 0x40);
            (byte[] code, _) = TestVm.Assemble(64, at, a =>
            {
                a.mov(al, (byte)mark);
                a.@out(0xE9, al);
                a.add(__qword_ptr[rsp], skip);
                a.iretq();
                return [];
            });
            t.Vm.Memory.Write(at, code);
            InterruptTests.WriteIdtGate(t, Idt, Idtr, vector, at);
        }

        return t;
    }

    [Test]
    public void Exception_PreBeforeDelivery_PostAtTheHandler_IntNIsNotAnException()
    {
        using TestVm t = ExceptionGuest(out ulong int3At, out ulong ud2At);
        var handler = new Handler(e => e.PostStageRequested = true);
        t.Vm.ExitHandler = handler;
        t.Vm.TrappedGuestEvents = GuestEventKinds.Exception;

        t.Run();

        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("BUMN"));
        Seen[] seen = [.. handler.Events];
        Assert.That(seen.Select(s => (s.Stage, s.Context)), Is.EqualTo(new[] { (ExitStage.Pre, 3UL), (ExitStage.Post, 3UL), (ExitStage.Pre, 6UL), (ExitStage.Post, 6UL) }), "INT 40h is a software interrupt, not an exception");
        Assert.That(seen[0].Rip, Is.EqualTo(int3At + 1), "#BP is a trap: RIP after INT3");
        Assert.That(seen[1].RipNow, Is.EqualTo(Handlers + (3 * 0x40)), "post: at the handler");
        Assert.That(seen[2].Rip, Is.EqualTo(ud2At), "#UD is a fault: RIP at UD2");
        Assert.That(seen[2].RipNow, Is.EqualTo(ud2At));
    }

    [Test]
    public void Exception_Skipped_IsNotDelivered()
    {
        using TestVm t = ExceptionGuest(out _, out _);
        t.Vm.ExitHandler = new Handler(e => e.SkipInstruction = e.Context == 3);
        t.Vm.TrappedGuestEvents = GuestEventKinds.Exception;

        t.Run();

        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("UMN"), "#BP skipped: no 'B'; execution goes on after INT3");
    }

    [Test]
    public void SyscallWithoutEferSce_IsAnExceptionEventNotASyscallEvent()
    {
        // Arrange: SYSCALL with EFER.SCE clear raises #UD (the model's fault); the #UD handler skips it and prints 'U'.
        using TestVm t = TestVm.Create64(a =>
        {
            a.lidt(__[Idtr]);
            a.mov(eax, 0x3C);
            a.syscall();
            a.hlt();
        });
        ulong at = Handlers + (6 * 0x40);
        (byte[] code, _) = TestVm.Assemble(64, at, a =>
        {
            a.mov(al, (byte)'U');
            a.@out(0xE9, al);
            a.add(__qword_ptr[rsp], 2);
            a.iretq();
            return [];
        });
        t.Vm.Memory.Write(at, code);
        InterruptTests.WriteIdtGate(t, Idt, Idtr, 6, at);
        var handler = new Handler();
        t.Vm.ExitHandler = handler;
        t.Vm.TrappedGuestEvents = GuestEventKinds.Exception | GuestEventKinds.Syscall;

        t.Run();

        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("U"));
        Assert.That(handler.Events.Select(e => (e.Kind, e.Context)), Is.EqualTo(new[] { (GuestEventKinds.Exception, 6UL) }));
    }

    [Test]
    public void Exception_FaultSkipped_RunsTheInstructionAgainAndTriggersAgain()
    {
        // UD2 with its #UD skipped twice: the third is delivered and its handler steps over UD2.
        using TestVm t = ExceptionGuest(out _, out ulong ud2At);
        int uds = 0;
        t.Vm.ExitHandler = new Handler(e => e.SkipInstruction = e.Context == 6 && ++uds <= 2);
        t.Vm.TrappedGuestEvents = GuestEventKinds.Exception;

        t.Run();

        Assert.That(uds, Is.EqualTo(3));
        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("BUMN"));
    }

    /// <summary>Programs the PICs (IRQ 3 only), STI; an OUT to port 0x80 raises IRQ 3 (from the exit); vector 0x23's
    /// handler (ExternalInterruptTests.Handler) prints 'I' and sends EOI; then 'B' after a delay loop.</summary>
    private static TestVm InterruptGuest(out ulong outAt)
    {
        TestVm t = TestVm.Create64(
            a =>
            {
                Label main = a.CreateLabel();
                Label handler = a.CreateLabel();
                Label signal = a.CreateLabel();
                Label wait = a.CreateLabel();
                a.jmp(main);
                ExternalInterruptTests.Handler(a, ref handler, 'I');
                a.Label(ref main);
                a.lidt(__[Idtr]);
                ExternalInterruptTests.ProgramPics(a, masterMask: 0xF7);
                a.sti();
                a.Label(ref signal);
                a.@out(0x80, al);
                a.mov(ecx, 1000);
                a.Label(ref wait);
                a.dec(ecx);
                a.jnz(wait);
                a.mov(al, (byte)'B');
                a.@out(0xE9, al);
                a.cli();
                a.hlt();
                return [handler, signal];
            },
            out ulong[] labels);
        InterruptTests.WriteIdtGate(t, Idt, Idtr, 0x23, labels[0]);
        t.Core0.Controls.SetPort(0x80, true);
        outAt = labels[1];
        return t;
    }

    private sealed class IrqHandler(TestVm t, Action<GuestEventExit> action) : IVmExitHandler
    {
        public ConcurrentQueue<Seen> Events { get; } = [];

        public void OnIoExit(IoExit ioExit) => t.Devices.Pic.Line(3).Raise();

        public void OnGuestEvent(GuestEventExit guestEvent)
        {
            Events.Enqueue(new Seen(guestEvent.Kind, guestEvent.Stage, guestEvent.Context, guestEvent.Rip, guestEvent.Core.ReadRegister(GuestRegister.Rip), 0, 0));
            action(guestEvent);
        }
    }

    [Test]
    public void Interrupt_PreSeesTheVectorBeforeDelivery_PostAtTheHandler()
    {
        using TestVm t = InterruptGuest(out ulong outAt);
        var handler = new IrqHandler(t, e => e.PostStageRequested = true);
        t.Vm.ExitHandler = handler;
        t.Vm.TrappedGuestEvents = GuestEventKinds.Interrupt;

        t.Run();

        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("IB"));
        Seen[] seen = [.. handler.Events];
        Assert.That(seen.Select(s => (s.Kind, s.Stage, s.Context)), Is.EqualTo(new[] { (GuestEventKinds.Interrupt, ExitStage.Pre, 0x23UL), (GuestEventKinds.Interrupt, ExitStage.Post, 0x23UL) }));
        Assert.That(seen[0].Rip, Is.GreaterThan(outAt), "taken after the OUT that raised it");
        Assert.That(seen[0].RipNow, Is.EqualTo(seen[0].Rip));
        Assert.That(seen[1].RipNow, Is.LessThan(outAt), "post: at the handler (before main)");
    }

    [Test]
    public void Interrupt_Skipped_IsNotDelivered()
    {
        using TestVm t = InterruptGuest(out _);
        var handler = new IrqHandler(t, e => e.SkipInstruction = true);
        t.Vm.ExitHandler = handler;
        t.Vm.TrappedGuestEvents = GuestEventKinds.Interrupt;

        t.Run();

        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("B"), "the handler never ran");
        Assert.That(handler.Events.Count, Is.EqualTo(1), "acknowledged once: no EOI, so IRQ 3 stays in service");
    }

    /// <summary>Ring 0 SYSCALL with EFER.SCE, LSTAR at a handler that prints 'S' and halts; after the SYSCALL 'A'.</summary>
    private static TestVm SyscallGuest(out ulong syscallAt, out ulong lstar)
    {
        TestVm t = TestVm.Create64(
            a =>
            {
                Label handler = a.CreateLabel();
                Label at = a.CreateLabel();
                Label main = a.CreateLabel();
                a.jmp(main);
                a.Label(ref handler);
                a.mov(al, (byte)'S');
                a.@out(0xE9, al);
                a.hlt();
                a.Label(ref main);
                a.mov(ecx, 0xC000_0080);
                a.rdmsr();
                a.or(eax, 1);
                a.wrmsr();
                a.mov(ecx, 0xC000_0081);
                a.xor(eax, eax);
                a.mov(edx, 0x0008);
                a.wrmsr();
                a.mov(ecx, 0xC000_0082);
                a.mov(rax, TestVm.LoadAddress + 2);
                a.mov(rdx, 0);
                a.wrmsr();
                a.mov(rax, 0x3C);
                a.Label(ref at);
                a.syscall();
                a.mov(al, (byte)'A');
                a.@out(0xE9, al);
                a.hlt();
                return [at, handler];
            },
            out ulong[] labels);
        (syscallAt, lstar) = (labels[0], labels[1]);
        return t;
    }

    [Test]
    public void Syscall_PreSeesRaxAndRipAtTheInstruction_PostAtLstar()
    {
        using TestVm t = SyscallGuest(out ulong syscallAt, out ulong lstar);
        Assert.That(lstar, Is.EqualTo(TestVm.LoadAddress + 2), "the handler follows the first jmp");
        var handler = new Handler(e => e.PostStageRequested = true);
        t.Vm.ExitHandler = handler;
        t.Vm.TrappedGuestEvents = GuestEventKinds.Syscall;

        t.Run();

        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("S"));
        Seen[] seen = [.. handler.Events];
        Assert.That(seen.Select(s => (s.Kind, s.Stage, s.Context)), Is.EqualTo(new[] { (GuestEventKinds.Syscall, ExitStage.Pre, 0x3CUL), (GuestEventKinds.Syscall, ExitStage.Post, 0x3CUL) }));
        Assert.That(seen[0].RipNow, Is.EqualTo(syscallAt));
        Assert.That(seen[1].RipNow, Is.EqualTo(lstar));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rcx), Is.EqualTo(syscallAt + 2), "RCX: the next RIP");
    }

    [Test]
    public void Syscall_Skipped_ContinuesAfterTheInstructionWithNothingDone()
    {
        using TestVm t = SyscallGuest(out _, out _);
        t.Vm.ExitHandler = new Handler(e => e.SkipInstruction = true);
        t.Vm.TrappedGuestEvents = GuestEventKinds.Syscall;

        t.Run();

        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("A"));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rcx), Is.EqualTo(0xC000_0082UL), "RCX untouched");
    }
}
