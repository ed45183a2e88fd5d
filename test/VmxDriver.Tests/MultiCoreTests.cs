// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

public sealed class MultiCoreTests
{
    private const ulong Lock = TestVm.DataAddress;
    private const ulong Counter = TestVm.DataAddress + 8;
    private const ulong Done = TestVm.DataAddress + 16;
    private const int Iterations = 200_000;

    /// <summary>Each core takes a lock-cmpxchg spinlock, increments non-atomically and releases; core id goes to 0xE9.</summary>
    private static IReadOnlyList<Label> SpinlockProgram(Assembler a)
    {
        Label entry0 = a.CreateLabel("core0");
        Label entry1 = a.CreateLabel("core1");
        Label work = a.CreateLabel("work");
        Label acquire = a.CreateLabel("acquire");
        Label owned = a.CreateLabel("owned");
        Label wait = a.CreateLabel("wait");
        a.Label(ref entry0);
        a.mov(r15, 0);
        a.call(work);
        a.Label(ref wait);
        a.cmp(__qword_ptr[Done], 2);
        a.jne(wait);
        a.hlt();
        a.Label(ref entry1);
        a.mov(r15, 1);
        a.call(work);
        a.hlt();

        a.Label(ref work);
        a.mov(r14, Iterations);
        a.Label(ref acquire);
        a.mov(eax, 0);
        a.mov(ecx, 1);
        a.@lock.cmpxchg(__dword_ptr[Lock], ecx);
        a.je(owned);
        a.pause();
        a.jmp(acquire);
        a.Label(ref owned);
        a.mov(rbx, __qword_ptr[Counter]);
        a.inc(rbx);
        a.mov(__qword_ptr[Counter], rbx);
        a.mov(__dword_ptr[Lock], 0);
        a.mov(rax, r15);
        a.@out(0xE9, al);
        a.dec(r14);
        a.jnz(acquire);
        a.@lock.inc(__qword_ptr[Done]);
        a.ret();
        return [entry0, entry1];
    }

    [Test]
    public void Spinlock_TwoCoresIncrementSharedCounter_TotalIsExact()
    {
        // Arrange
        using TestVm t = TestVm.CreateMulti64(SpinlockProgram, cores: 2);

        // Act
        t.Run(timeoutMs: 60_000);

        // Assert
        Assert.That(t.Vm.Memory.TryRead(Counter, out ulong total) ? total : 0, Is.EqualTo(2UL * Iterations));
        byte[] ids = t.Devices.BochsPort.Output.ToArray();
        Assert.That(ids.Count(b => b == 0), Is.EqualTo(Iterations));
        Assert.That(ids.Count(b => b == 1), Is.EqualTo(Iterations));
    }

    [Test]
    public void Exits_TwoCores_EachExitCarriesItsCore()
    {
        // Arrange
        int mismatches = 0;
        int exits = 0;
        using TestVm t = TestVm.CreateMulti64(SpinlockProgram, cores: 2);
        t.Vm.ExitHandler = new RecordingExitHandler(e =>
        {
            exits++;
            if ((e.Core.ReadRegister(GuestRegister.Rax) & 0xFF) != (ulong)e.Core.Index)
            {
                mismatches++;
            }
        });
        foreach (Vcpu core in t.Vm.Cores)
        {
            core.Controls.SetPort(0xE9, true);
        }

        // Act
        t.Run(timeoutMs: 60_000);

        // Assert
        Assert.That(exits, Is.EqualTo(2 * Iterations));
        Assert.That(mismatches, Is.Zero);
        Assert.That(t.Vm.Cores.Select(c => c.ExitCount), Is.All.EqualTo((long)Iterations));
    }

    [Test]
    public void Pause_TwoCoresRunning_NoCoreMovesWhileHalted()
    {
        // Arrange
        using TestVm t = TestVm.CreateMulti64(SpinlockProgram, cores: 2);
        t.Vm.Start();

        // Act
        Assert.That(t.Vm.Pause(TimeSpan.FromSeconds(5)), Is.True);
        ulong[] before = t.Vm.Cores.Select(c => c.BlocksExecuted).ToArray();
        t.Vm.Memory.TryRead(Counter, out ulong counterBefore);
        Thread.Sleep(100);
        ulong[] after = t.Vm.Cores.Select(c => c.BlocksExecuted).ToArray();
        t.Vm.Memory.TryRead(Counter, out ulong counterAfter);
        t.Vm.Resume();
        VmStopInfo? info = t.Vm.WaitForStop(TimeSpan.FromSeconds(60));

        // Assert
        Assert.That(after, Is.EqualTo(before));
        Assert.That(counterAfter, Is.EqualTo(counterBefore));
        Assert.That(info?.Reason, Is.EqualTo(VmStopReason.AllCoresHalted));
        Assert.That(t.Vm.Memory.TryRead(Counter, out ulong total) ? total : 0, Is.EqualTo(2UL * Iterations));
    }

    [Test]
    public void Start_TwoCores_TheBootstrapProcessorRunsFirst()
    {
        // Arrange: core 0 sets a flag and halts; core 1's first instruction reads it.
        const ulong flag = TestVm.DataAddress;
        const ulong seen = TestVm.DataAddress + 8;
        using TestVm t = TestVm.CreateMulti64(
            a =>
            {
                Label core0 = a.CreateLabel();
                Label core1 = a.CreateLabel();
                a.Label(ref core0);
                a.mov(__byte_ptr[flag], 1);
                a.hlt();
                a.Label(ref core1);
                a.mov(al, __byte_ptr[flag]);
                a.mov(__byte_ptr[seen], al);
                a.hlt();
                return [core0, core1];
            },
            cores: 2);

        // Act
        t.Run();

        // Assert
        Assert.That(t.Vm.Memory.TryRead(seen, out byte value) ? value : -1, Is.EqualTo(1), "core 1 ran after core 0");
    }

    [Test]
    public void Start_InitialBreak_TakenByTheBootstrapProcessor()
    {
        using TestVm t = TestVm.CreateMulti64(SpinlockProgram, cores: 2);
        int core = -1;
        t.Vm.Halted += (_, info) =>
        {
            core = info.Core.Index;
            Task.Run(t.Vm.Stop);
        };

        t.Vm.Start(initialBreak: true);
        VmStopInfo? stop = t.Vm.WaitForStop(TimeSpan.FromSeconds(10));

        Assert.That(stop, Is.Not.Null);
        Assert.That(core, Is.Zero);
    }
}
