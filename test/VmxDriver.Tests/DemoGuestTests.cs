// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Collections.Concurrent;
using System.Text;
using HyperDbgRemote.VmxDriver.Devices;
using HyperDbgRemote.VmxDriver.Guests;

namespace HyperDbgRemote.VmxDriver.Tests;

public sealed class DemoGuestTests
{
    [Test]
    public void Demo_RunsBothCoresAndProcesses_StopsThroughDebugExit()
    {
        // Arrange
        var demo = new DemoGuest();
        using var vm = new VirtualMachine(new VmConfiguration { Cores = 2, MemoryBytes = 64 * 1024 * 1024 });
        StandardDevices devices = StandardDevices.Attach(vm);
        vm.AddCores(demo.Load(vm));
        var pids = new HashSet<uint>();
        vm.ExitHandler = new RecordingExitHandler(e => pids.Add(vm.OsProfile.Current(e.Core).ProcessId));
        foreach (Vcpu core in vm.Cores)
        {
            core.Controls.SetPort(StandardPorts.PostCode, true);
        }

        // Act
        vm.Start();
        string com1 = string.Empty;
        for (int i = 0; i < 500 && !com1.Contains("logger tick 0004", StringComparison.Ordinal); i++)
        {
            Thread.Sleep(10);
            com1 = devices.Com1.Transmitted.Text();
        }

        demo.RequestStop(vm);
        VmStopInfo? stop = vm.WaitForStop(TimeSpan.FromSeconds(10));

        // Assert
        Assert.That(stop?.Reason, Is.EqualTo(VmStopReason.DebugExit), stop?.Report);
        Assert.That(com1, Does.StartWith("HyperDbgRemote demo guest 1.0\r\nHyperDbgRemote demo guest 1.0\r\nshell tick 0001\r\nlogger tick 0002\r\n"));
        Assert.That(pids, Is.SupersetOf(new uint[] { 0, 1, 2, 3 }), "kernel, shell, logger and worker all wrote POST codes");
        vm.Memory.TryRead(demo.Labels["shared_counter"], out ulong counter);
        vm.Memory.TryRead(demo.Labels["worker_loops"], out ulong worker);
        Assert.That(worker, Is.GreaterThan(0), "core 1 ran");
        Assert.That(counter, Is.GreaterThan(worker), "both cores bumped the shared counter");
        Assert.That(vm.Cores[1].ExitCount, Is.GreaterThan(0));
    }

    [Test]
    public void Demo_ProcessesRunInRing3_EnterTheKernelWithSyscall_SameAddressDifferentPages()
    {
        // Arrange: the demo halted at its start, with a breakpoint at the kernel's SYSCALL entry (LSTAR).
        using var run = HaltedDemo.Start();
        DemoGuest demo = run.Demo;
        VirtualMachine vm = run.Vm;
        Vcpu Next(ulong at) => run.Next(at);

        string UserName(Vcpu core)
        {
            var bytes = new byte[8];
            Assert.That(core.ReadVirtual(DemoGuest.UserAddress + 0x1000, bytes), Is.EqualTo(bytes.Length), "the user page is mapped");
            return Encoding.ASCII.GetString(bytes).TrimEnd('\0');
        }

        ulong entry = demo.Labels["syscall_entry"];
        vm.AddCodeBreakpoint(entry);

        // Act / Assert: shell's first SYSCALL enters the kernel at LSTAR at CPL 0 in shell's address space: RCX is the
        // user's next instruction (in the user page), R11 its RFLAGS (IF set: ring 3 takes the timer), RAX the call (1: print).
        vm.Resume();
        Vcpu core = Next(entry);
        Assert.That(core.ReadRegister(GuestRegister.Cs), Is.EqualTo(0x08UL), "CPL 0");
        Assert.That(core.ReadRegister(GuestRegister.Rcx) - DemoGuest.UserAddress, Is.InRange(1UL, 0xFFFUL), "returns into the user page");
        Assert.That((core.ReadRegister(GuestRegister.Rax), core.ReadRegister(GuestRegister.R11) & 0x200), Is.EqualTo((1UL, 0x200UL)));
        Assert.That((vm.OsProfile.Current(core), UserName(core)), Is.EqualTo((new GuestProcess(1, 0x101, "shell"), "shell")), "the kernel runs in the process's context");
        ulong shellCr3 = core.ReadRegister(GuestRegister.Cr3);
        Assert.That(core.TryTranslate(DemoGuest.UserAddress, out ulong shellPage), Is.True);

        // The next SYSCALL is logger's, after the timer switched processes: it asks to print from the same address,
        // another page.
        vm.Resume();
        core = Next(entry);
        Assert.That(core.ReadRegister(GuestRegister.Rax), Is.EqualTo(1UL));
        Assert.That((vm.OsProfile.Current(core), UserName(core)), Is.EqualTo((new GuestProcess(2, 0x102, "logger"), "logger")));
        Assert.That(core.ReadRegister(GuestRegister.Cr3), Is.Not.EqualTo(shellCr3));
        Assert.That(core.TryTranslate(DemoGuest.UserAddress, out ulong loggerPage), Is.True);
        Assert.That(loggerPage, Is.Not.EqualTo(shellPage), "different physical pages");

        // The user program's first instruction (the same address in both processes) runs at CPL 3: CS and SS have RPL 3.
        vm.RemoveCodeBreakpoint(entry);
        vm.AddCodeBreakpoint(DemoGuest.UserAddress);
        vm.Resume();
        core = Next(DemoGuest.UserAddress);
        Assert.That((core.ReadRegister(GuestRegister.Cs), core.ReadRegister(GuestRegister.Ss)), Is.EqualTo((0x2BUL, 0x23UL)), "CPL 3");
        Assert.That(vm.OsProfile.Current(core).ProcessId, Is.EqualTo(1u), "shell's turn again");
    }

    [Test]
    public void Demo_PitInterruptInRing3_SwitchesProcessesThroughTheTssStack_IretqToTheOtherProcessInRing3()
    {
        // Arrange: the demo halted at its start, with a breakpoint at the kernel's IRQ 0 handler (IDT vector 0x20).
        using var run = HaltedDemo.Start();
        DemoGuest demo = run.Demo;
        VirtualMachine vm = run.Vm;
        Vcpu Next(ulong at) => run.Next(at);

        ulong Qword(Vcpu core, ulong address)
        {
            var bytes = new byte[8];
            Assert.That(core.ReadVirtual(address, bytes), Is.EqualTo(8), $"{address:x} is mapped");
            return BitConverter.ToUInt64(bytes);
        }

        string UserName(Vcpu core)
        {
            var bytes = new byte[8];
            Assert.That(core.ReadVirtual(DemoGuest.UserAddress + 0x1000, bytes), Is.EqualTo(bytes.Length), "the user page is mapped");
            return Encoding.ASCII.GetString(bytes).TrimEnd('\0');
        }

        ulong timer = demo.Labels["timer_entry"], iretq = demo.Labels["timer_return"], tss = demo.Labels["tss"];
        ulong spin = DemoGuest.UserAddress + demo.Labels["user_spin"] - demo.Labels["user_program"];
        const ulong ShellStack = 0x314000, LoggerStack = 0x318000, UserStack = 0x401F_F000;
        vm.AddCodeBreakpoint(timer);

        // Act / Assert: IRQ 0 arrives while shell (pid 1) runs in ring 3: the handler runs at CPL 0 with IF clear on
        // shell's kernel stack (the TSS's RSP0), which holds the user's frame: RIP in the user page, CS 2Bh, RFLAGS
        // with IF, RSP on the user stack, SS 23h.
        vm.Resume();
        Vcpu core = Next(timer);
        Assert.That(vm.OsProfile.Current(core).ProcessId, Is.EqualTo(1u), "shell runs first");
        Assert.That((core.ReadRegister(GuestRegister.Cs), core.ReadRegister(GuestRegister.Rflags) & 0x200), Is.EqualTo((0x08UL, 0UL)), "CPL 0, IF clear");
        ulong rsp = core.ReadRegister(GuestRegister.Rsp);
        Assert.That((rsp, Qword(core, tss + 4)), Is.EqualTo((ShellStack - 40, ShellStack)), "five slots on RSP0");
        Assert.That(Qword(core, rsp) - DemoGuest.UserAddress, Is.LessThan(0x100UL), "the interrupted RIP, in the user program");
        Assert.That(
            (Qword(core, rsp + 8), Qword(core, rsp + 16) & 0x200, Qword(core, rsp + 24) - UserStack, Qword(core, rsp + 32)),
            Is.EqualTo((0x2BUL, 0x200UL, 0UL, 0x23UL)));
        ulong shellCr3 = core.ReadRegister(GuestRegister.Cr3);

        // The switch: the handler returns with IRETQ on logger's kernel stack, in logger's address space, with RSP0
        // pointing at logger's stack; the IRETQ enters logger's first instruction in ring 3.
        vm.RemoveCodeBreakpoint(timer);
        vm.AddCodeBreakpoint(iretq);
        do
        {
            vm.Resume();
            core = Next(iretq);
        }
        while (vm.OsProfile.Current(core).ProcessId == 1);
        Assert.That(vm.OsProfile.Current(core), Is.EqualTo(new GuestProcess(2, 0x102, "logger")));
        Assert.That(core.ReadRegister(GuestRegister.Cr3), Is.Not.EqualTo(shellCr3));
        Assert.That((core.ReadRegister(GuestRegister.Rsp), Qword(core, tss + 4)), Is.EqualTo((LoggerStack - 40, LoggerStack)));
        Assert.That(Qword(core, core.ReadRegister(GuestRegister.Rsp)), Is.EqualTo(DemoGuest.UserAddress));
        vm.RemoveCodeBreakpoint(iretq);
        vm.AddCodeBreakpoint(DemoGuest.UserAddress);
        vm.Resume();
        core = Next(DemoGuest.UserAddress);
        Assert.That(
            (core.ReadRegister(GuestRegister.Cs), core.ReadRegister(GuestRegister.Ss), core.ReadRegister(GuestRegister.Rsp), core.ReadRegister(GuestRegister.Rflags) & 0x200),
            Is.EqualTo((0x2BUL, 0x23UL, UserStack, 0x200UL)), "ring 3, the user stack, IF set");
        Assert.That((vm.OsProfile.Current(core).ProcessId, UserName(core)), Is.EqualTo((2u, "logger")));

        // Preemption: logger prints its line, then spins in ring 3 without a system call; the timer interrupts the
        // spin and the next user instruction to run is shell's, which resumes and starts its next line. Which process
        // a tick finds in the spin depends on when the tick comes (one may land on the instructions between the
        // SYSCALL and the spin, and then shell is the next to spin), so the ticks are taken until one interrupts
        // logger's spin.
        vm.RemoveCodeBreakpoint(DemoGuest.UserAddress);
        vm.AddCodeBreakpoint(timer);
        ulong interrupted;
        do
        {
            vm.Resume();
            core = Next(timer);
            interrupted = Qword(core, core.ReadRegister(GuestRegister.Rsp));
        }
        while ((interrupted != spin && interrupted != spin + 3) || vm.OsProfile.Current(core).ProcessId != 2);
        Assert.That(
            (Qword(core, core.ReadRegister(GuestRegister.Rsp) + 8), Qword(core, demo.Labels["turn_printed"])),
            Is.EqualTo((0x2BUL, 1UL)),
            "logger was spinning in ring 3 after printing its line");
        vm.RemoveCodeBreakpoint(timer);
        vm.AddCodeBreakpoint(DemoGuest.UserAddress);
        vm.Resume();
        core = Next(DemoGuest.UserAddress);
        Assert.That((vm.OsProfile.Current(core).ProcessId, UserName(core), core.ReadRegister(GuestRegister.Cr3)), Is.EqualTo((1u, "shell", shellCr3)));
        Assert.That((core.ReadRegister(GuestRegister.Cs), core.ReadRegister(GuestRegister.Ss)), Is.EqualTo((0x2BUL, 0x23UL)));

        vm.RemoveCodeBreakpoint(DemoGuest.UserAddress);
        run.Finish();
    }

    [Test]
    public void Demo_ProcessSpinningInRing3WithoutSystemCalls_IsPreemptedByTheTimerAfterEightTicks()
    {
        // Arrange: the demo halted where its kernel starts shell, with shell's user program replaced by "jmp $" (a
        // ring-3 loop that never enters the kernel), and a breakpoint at the kernel's system-call handler.
        using var run = HaltedDemo.Start();
        DemoGuest demo = run.Demo;
        VirtualMachine vm = run.Vm;
        Vcpu Next(ulong at) => run.Next(at);

        ulong scheduler = demo.Labels["scheduler"], sysCall = demo.Labels["sys_call"], timer = demo.Labels["timer_entry"];
        vm.AddCodeBreakpoint(scheduler);
        vm.Resume();
        Vcpu core = Next(scheduler);
        const ulong ShellPage = 0x80_0000;
        vm.Memory.Write(ShellPage, [0xEB, 0xFE]);
        vm.RemoveCodeBreakpoint(scheduler);
        vm.AddCodeBreakpoint(timer);

        // Act / Assert: the timer interrupts shell at its loop, in ring 3; after the 8th tick without a line the kernel
        // switches to logger anyway, whose SYSCALL is the first to reach the kernel.
        vm.Resume();
        core = Next(timer);
        var frame = new byte[16];
        Assert.That(core.ReadVirtual(core.ReadRegister(GuestRegister.Rsp), frame), Is.EqualTo(frame.Length));
        Assert.That((BitConverter.ToUInt64(frame), BitConverter.ToUInt64(frame, 8)), Is.EqualTo((DemoGuest.UserAddress, 0x2BUL)), "shell spins at its first instruction in ring 3");
        vm.RemoveCodeBreakpoint(timer);
        vm.AddCodeBreakpoint(sysCall);
        vm.Resume();
        core = Next(sysCall);
        Assert.That(vm.OsProfile.Current(core), Is.EqualTo(new GuestProcess(2, 0x102, "logger")));
        Assert.That(vm.Memory.TryRead(demo.Labels["timer_ticks"], out ulong ticks), Is.True);
        Assert.That(vm.Memory.TryRead(demo.Labels["ticks"], out ulong lines), Is.True);
        Assert.That(lines, Is.Zero, "shell printed no line");
        Assert.That(ticks, Is.GreaterThanOrEqualTo(8UL), "shell kept the core for eight ticks, then lost it (a ninth may come before logger's SYSCALL)");

        vm.RemoveCodeBreakpoint(sysCall);
        run.Finish();
    }

    [Test]
    public void Demo_Ring3Breakpoint_RemovedWhileHalted_ProcessesRunOnAndReachTheKernelAtCpl0()
    {
        // Arrange: the demo halted at a process's first instruction (ring 3), a breakpoint also at the SYSCALL entry.
        using var run = HaltedDemo.Start();
        DemoGuest demo = run.Demo;
        VirtualMachine vm = run.Vm;
        Vcpu Next(ulong at) => run.Next(at);

        ulong entry = demo.Labels["syscall_entry"];
        vm.AddCodeBreakpoint(DemoGuest.UserAddress);

        // Act / Assert: twice (shell, then logger): halt at the user entry at CPL 3, remove it, resume: the process's
        // SYSCALL reaches the kernel at CPL 0.
        for (int i = 0; i < 2; i++)
        {
            vm.Resume();
            Vcpu core = Next(DemoGuest.UserAddress);
            Assert.That((core.ReadRegister(GuestRegister.Cs), core.ReadRegister(GuestRegister.Ss)), Is.EqualTo((0x2BUL, 0x23UL)), "CPL 3");
            Assert.That(vm.RemoveCodeBreakpoint(DemoGuest.UserAddress), Is.True);
            vm.AddCodeBreakpoint(entry);
            vm.Resume();
            core = Next(entry);
            Assert.That(core.ReadRegister(GuestRegister.Cs), Is.EqualTo(0x08UL), "CPL 0");
            Assert.That(core.ReadRegister(GuestRegister.Rcx) - DemoGuest.UserAddress, Is.InRange(1UL, 0xFFFUL), "from the user page");
            vm.RemoveCodeBreakpoint(entry);
            vm.AddCodeBreakpoint(DemoGuest.UserAddress);
        }

        vm.RemoveCodeBreakpoint(DemoGuest.UserAddress);
        run.Finish();
    }

    [Test]
    public void Demo_TooLittleMemory_SaysHowMuchItNeeds()
    {
        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = 8 * 1024 * 1024 });
        Assert.That(() => new DemoGuest().Load(vm), Throws.TypeOf<GuestImageException>().With.Message.Contains("16 MiB"));
    }

    [Test]
    public void DemoProfile_ReadsAtMostSixteenEntriesAndSixteenNameBytes_UnprintableNamesByPid()
    {
        // Arrange: a core whose CR3 is the loader's, and process tables written as a guest could write them.
        using var vm = new VirtualMachine(new VmConfiguration { Cores = 1, MemoryBytes = 16 * 1024 * 1024 });
        vm.AddCores(new Flat64Guest([0xF4], 0x10_0000).Load(vm));
        using var halts = new BlockingCollection<VmHaltInfo>();
        vm.Halted += (_, h) => halts.Add(h);
        vm.Start(initialBreak: true);
        Assert.That(halts.TryTake(out _, TimeSpan.FromSeconds(20)), Is.True, "halted at the start");
        Vcpu core = vm.Cores[0];
        ulong cr3 = core.ReadRegister(GuestRegister.Cr3);
        const ulong Table = 0x20_0000, Names = 0x30_0000;
        vm.Memory.Write(Names, "a-very-long-process-name\0"u8);
        vm.Memory.Write(Names + 0x100, "bad\u0001name\0"u8);
        GuestProcess Lookup(int index, ulong name)
        {
            vm.Memory.Write(Table, new byte[0x1000]);
            for (int i = 0; i < index; i++)
            {
                vm.Memory.TryWrite(Table + ((ulong)i * DemoGuestOsProfile.EntrySize), 0x7000UL + ((ulong)i << 12)); // other CR3s
            }

            ulong entry = Table + ((ulong)index * DemoGuestOsProfile.EntrySize);
            vm.Memory.TryWrite(entry, cr3);
            vm.Memory.TryWrite(entry + 8, 5UL);
            vm.Memory.TryWrite(entry + 16, name);
            return new DemoGuestOsProfile(Table).Current(core);
        }

        // Act / Assert
        Assert.That(Lookup(0, Names), Is.EqualTo(new GuestProcess(5, 0x105, "a-very-long-proc")), "16 bytes of the name");
        Assert.That(Lookup(15, Names + 0x100), Is.EqualTo(new GuestProcess(5, 0x105, "pid5")), "an unprintable name: the pid");
        Assert.That(Lookup(15, 0xFFFF_FFFF_0000), Is.EqualTo(new GuestProcess(5, 0x105, "pid5")), "a name outside RAM");
        Assert.That(Lookup(16, Names), Is.EqualTo(new GuestProcess(0, 0x100, "kernel")), "the 17th entry is not read");
    }

    /// <summary>The demo on 2 cores and 64 MiB, started with an initial break and halted there; <see cref="Next"/> takes
    /// the next halt, which must be a breakpoint at a given address.</summary>
    private sealed class HaltedDemo : IDisposable
    {
        private readonly BlockingCollection<VmHaltInfo> _halts = [];

        private HaltedDemo()
        {
            Vm = new VirtualMachine(new VmConfiguration { Cores = 2, MemoryBytes = 64 * 1024 * 1024 });
            StandardDevices.Attach(Vm);
            Vm.AddCores(Demo.Load(Vm));
            Vm.Halted += (_, h) => _halts.Add(h);
        }

        public DemoGuest Demo { get; } = new();

        public VirtualMachine Vm { get; }

        public static HaltedDemo Start()
        {
            var run = new HaltedDemo();
            run.Vm.Start(initialBreak: true);
            Assert.That(run._halts.TryTake(out VmHaltInfo? first, TimeSpan.FromSeconds(20)) && first!.Reason == HaltReason.InitialBreak, Is.True, "the initial break");
            return run;
        }

        /// <summary>The core that halted next, at a breakpoint at <paramref name="at"/>.</summary>
        public Vcpu Next(ulong at)
        {
            Assert.That(_halts.TryTake(out VmHaltInfo? h, TimeSpan.FromSeconds(20)), Is.True, "the VM halted");
            Assert.That((h!.Reason, h.Core.ReadRegister(GuestRegister.Rip)), Is.EqualTo((HaltReason.Breakpoint, at)), Vm.StopInfo?.Report);
            return h.Core;
        }

        /// <summary>Lets the demo end itself (its debug-exit port) and checks that it did.</summary>
        public void Finish()
        {
            Demo.RequestStop(Vm);
            Vm.Resume();
            VmStopInfo? stop = Vm.WaitForStop(TimeSpan.FromSeconds(20));
            Assert.That(stop?.Reason, Is.EqualTo(VmStopReason.DebugExit), stop?.Report);
        }

        public void Dispose()
        {
            Vm.Dispose();
            _halts.Dispose();
        }
    }
}
