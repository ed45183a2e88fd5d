// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// One TSC for every core (docs/vmx-driver.md, "Guest time"): RDTSC reads the machine's guest time on each core, so a
/// TSC read on one core is never behind one read earlier on another, the property Linux's <c>check_tsc_warp</c>
/// (arch/x86/kernel/tsc_sync.c) measures. Each core reads the other's last TSC value, then its own TSC, and counts a
/// warp when its own is behind; cores take turns at the baton's quantum, so each sees the other's value change.
/// </summary>
public sealed class TscAcrossCoresTests
{
    private const ulong Slots = TestVm.DataAddress;            // the last TSC each core read (core 0, core 1)
    private const ulong WarpCounts = TestVm.DataAddress + 16;  // per core
    private const ulong Handovers = TestVm.DataAddress + 32;   // per core: changes of the other's value it saw
    private const ulong Done = TestVm.DataAddress + 48;

    /// <summary>Iterations per core: each is a few blocks, so each core runs past the baton's quantum several times.</summary>
    private const int Iterations = 400_000;

    private static IReadOnlyList<Label> WarpCheck(Assembler a)
    {
        Label entry0 = a.CreateLabel();
        Label entry1 = a.CreateLabel();
        Label work = a.CreateLabel();
        Label loop = a.CreateLabel();
        Label noWarp = a.CreateLabel();
        Label same = a.CreateLabel();
        Label wait = a.CreateLabel();
        a.Label(ref entry0);
        a.mov(r15, 0);
        a.call(work);
        a.Label(ref wait);
        a.cmp(__qword_ptr[Done], 2);
        a.jne(wait);
        a.cli();
        a.hlt();
        a.Label(ref entry1);
        a.mov(r15, 1);
        a.call(work);
        a.cli();
        a.hlt();

        // rdi: this core's slot, rbp: the other's; r13: the other's value last seen; r14: iterations left.
        a.Label(ref work);
        a.mov(rdi, Slots);
        a.lea(rdi, __[rdi + (r15 * 8)]);
        a.mov(rbp, Slots + 8);
        a.mov(rax, r15);
        a.shl(rax, 3);
        a.sub(rbp, rax);
        a.xor(r13, r13);
        a.mov(r14, Iterations);
        a.Label(ref loop);
        a.mov(rsi, __qword_ptr[rbp]);
        a.rdtsc();
        a.shl(rdx, 32);
        a.or(rax, rdx);
        a.mov(__qword_ptr[rdi], rax);
        a.cmp(rax, rsi);
        a.jae(noWarp);
        a.inc(__qword_ptr[rdi + (int)(WarpCounts - Slots)]);
        a.Label(ref noWarp);
        a.cmp(rsi, r13);
        a.je(same);
        a.inc(__qword_ptr[rdi + (int)(Handovers - Slots)]);
        a.mov(r13, rsi);
        a.Label(ref same);
        a.dec(r14);
        a.jnz(loop);
        a.@lock.inc(__qword_ptr[Done]);
        a.ret();
        return [entry0, entry1];
    }

    private static ulong Read(TestVm t, ulong address) =>
        t.Vm.Memory.TryRead(address, out ulong value) ? value : throw new InvalidOperationException($"0x{address:X} is not RAM");

    [Test]
    public void TwoCoresReadingTheTscInTurn_NeverSeeItBehindTheOthersLastRead()
    {
        // Arrange
        using TestVm t = TestVm.CreateMulti64(WarpCheck, cores: 2);

        // Act
        VmStopInfo stop = t.Run(timeoutMs: 60_000);

        // Assert
        Assert.That(stop.Reason, Is.EqualTo(VmStopReason.AllCoresHalted), stop.Report);
        (ulong seen0, ulong seen1) = (Read(t, Handovers), Read(t, Handovers + 8));
        Assert.That(Math.Min(seen0, seen1), Is.GreaterThanOrEqualTo(2UL), $"each core saw the other's TSC reads between its own ({seen0}, {seen1})");
        Assert.That((Read(t, WarpCounts), Read(t, WarpCounts + 8)), Is.EqualTo((0UL, 0UL)), "a TSC read behind the other core's last");
    }
}
