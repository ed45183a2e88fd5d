// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// A fixed IPI wakes a core from <c>sti; hlt</c> every time, as Linux's idle loop needs it (the two-core boot's CPU 0
/// waiting in <c>smp_call_function_many_cond</c> for a CPU 1 sleeping in HLT). Both orders a CPU can see: the IPI
/// arriving while the core sleeps in HLT, and arriving while interrupts are off just before the core's
/// <c>sti; hlt</c> (Linux's <c>safe_halt</c> with a wake-up already pending: the interrupt is taken at once, returning
/// after the HLT). The cores hand each round over through memory: core 1 says it is ready, core 0 sends the IPI and
/// says so, core 1's handler counts it, and core 0 waits for that count; a lost IPI leaves the VM running for ever.
/// </summary>
public sealed class IpiWakeTests
{
    private const ulong Idt = TestVm.DataAddress;
    private const ulong Idtr = TestVm.DataAddress + 0x1000;
    private const ulong Ready = TestVm.DataAddress + 0x2000;
    private const ulong Sent = Ready + 4;
    private const ulong Taken = Ready + 8;
    private const ulong Done = Ready + 12;
    private const ulong Returned = Ready + 16;
    private const ulong WrongReturns = Ready + 24;
    private const byte Vector = 0x41;
    private const uint Rounds = 100;

    private static uint Read32(TestVm t, ulong address) =>
        t.Vm.Memory.TryRead(address, out uint value) ? value : throw new InvalidOperationException($"0x{address:X} is not RAM");

    /// <summary>Spins (with PAUSE) until the dword at <paramref name="address"/> equals <paramref name="value"/>.</summary>
    private static void WaitFor(Assembler a, ulong address, AssemblerRegister32 value)
    {
        Label again = a.CreateLabel();
        a.Label(ref again);
        a.pause();
        a.cmp(__dword_ptr[address], value);
        a.jne(again);
    }

    private static IReadOnlyList<Label> Program(Assembler a, bool pendingBeforeHlt)
    {
        Label core0 = a.CreateLabel();
        Label core1 = a.CreateLabel();
        Label handler = a.CreateLabel();
        Label afterHlt = a.CreateLabel();
        Label round0 = a.CreateLabel();
        Label round1 = a.CreateLabel();
        Label ok = a.CreateLabel();

        // Core 0: for each round, waits for core 1, sends the IPI (fixed, physical destination APIC ID 1), waits for
        // core 1's handler.
        a.Label(ref core0);
        ExternalInterruptTests.ProgramPics(a, masterMask: 0xFF);
        a.mov(r12d, 1);
        a.Label(ref round0);
        a.nop(); // a label of its own (WaitFor's loop has one)
        WaitFor(a, Ready, r12d);
        a.mov(rbx, LocalApicRegisters.DefaultBase);
        a.mov(__dword_ptr[rbx + LocalApicRegisters.InterruptCommandHigh], 1u << 24);
        a.mov(__dword_ptr[rbx + LocalApicRegisters.InterruptCommandLow], (1u << 14) | Vector);
        a.mov(__dword_ptr[Sent], r12d);
        WaitFor(a, Taken, r12d);
        a.inc(r12d);
        a.cmp(r12d, Rounds + 1);
        a.jb(round0);
        a.mov(r12d, 1);
        WaitFor(a, Done, r12d);
        a.cli();
        a.hlt();

        // Core 1: its APIC enabled, its IDT loaded; each round ends in `sti; hlt`, the IPI either already pending (sent
        // while IF was clear) or arriving while it sleeps.
        a.Label(ref core1);
        a.lidt(__[Idtr]);
        a.mov(rax, LocalApicRegisters.DefaultBase);
        a.mov(__dword_ptr[rax + LocalApicRegisters.SpuriousVector], 0x1FF);
        a.mov(r12d, 1);
        a.Label(ref round1);
        a.cli();
        a.mov(__dword_ptr[Ready], r12d);
        if (pendingBeforeHlt)
        {
            WaitFor(a, Sent, r12d);
        }

        a.sti();
        a.hlt();
        a.Label(ref afterHlt);
        a.inc(r12d);
        a.cmp(r12d, Rounds + 1);
        a.jb(round1);
        a.mov(__dword_ptr[Done], 1);
        a.cli();
        a.hlt();

        // The handler (core 1): records where the interrupt returns to, counts it, EOI.
        a.Label(ref handler);
        a.push(rax);
        a.push(rbx);
        a.mov(rax, __qword_ptr[rsp + 16]);
        a.mov(__qword_ptr[Returned], rax);
        a.lea(rbx, __[afterHlt]);
        a.cmp(rax, rbx);
        a.je(ok);
        a.inc(__dword_ptr[WrongReturns]);
        a.Label(ref ok);
        a.inc(__dword_ptr[Taken]);
        a.mov(rax, LocalApicRegisters.DefaultBase);
        a.mov(__dword_ptr[rax + LocalApicRegisters.Eoi], 0);
        a.pop(rbx);
        a.pop(rax);
        a.iretq();
        return [core0, core1, handler, afterHlt];
    }

    [Test]
    public void FixedIpi_WakesTheCoreFromStiHlt_EveryRound([Values] bool pendingBeforeHlt)
    {
        // Arrange
        using TestVm t = TestVm.CreateApic64(a => Program(a, pendingBeforeHlt), out ulong[] labels, cores: 2);
        InterruptTests.WriteIdtGate(t, Idt, Idtr, Vector, labels[2]);

        // Act: a lost IPI would leave both cores waiting for ever.
        VmStopInfo stop = t.Run(timeoutMs: 60_000);

        // Assert
        Assert.That(stop.Reason, Is.EqualTo(VmStopReason.AllCoresHalted), stop.Report);
        Assert.That(Read32(t, Taken), Is.EqualTo(Rounds));
        Assert.That(t.Vm.Memory.TryRead(Returned, out ulong returned) ? returned : 0, Is.EqualTo(labels[3]), "the interrupt returns after the HLT");
        Assert.That(Read32(t, WrongReturns), Is.Zero, "every round's interrupt came at the HLT, none before it (STI's shadow)");
        Assert.That(t.Vm.Cores[1].ExternalInterruptsTaken, Is.EqualTo((long)Rounds));
    }
}
