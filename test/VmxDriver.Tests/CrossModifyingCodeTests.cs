// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// Cross-modifying code (SDM Vol. 3A 8.1.3): code one core writes runs as written on the other cores, whose engines had
/// translated it before (each core is an engine of its own, and an engine sees only its own writes). Debian's kernel
/// patches its text this way on two cores (text_poke_bp: INT3, the new bytes, the first byte); the other core kept
/// running its stale translation (the two-core boot's CPU looping in <c>asm_exc_int3</c>). The cores synchronise
/// through memory: core 0 patches only once core 1 has run the old code many times, and core 1 stops only once it
/// has run the new code, so without coherence the VM never stops.
/// </summary>
public sealed class CrossModifyingCodeTests
{
    private const ulong Runs = TestVm.DataAddress;
    private const ulong Patched = TestVm.DataAddress + 8;
    private const ulong Returned = TestVm.DataAddress + 16;
    private const uint OldValue = 1, NewValue = 7;

    /// <summary>Core 1 calls F (mov eax, 1; ret, alone on its page) until it returns 7, counting its calls; core 0 waits
    /// for 1000 calls, writes F's immediate and waits for core 1's HLT. With <paramref name="writerTouchesPageFirst"/>,
    /// core 0 writes a byte of F's page (after F's code) before core 1 runs: its engine then holds that page as written
    /// data, which it checks for code again only once the page has become code on core 1.</summary>
    private static IReadOnlyList<Label> Program(Assembler a, bool writerTouchesPageFirst)
    {
        Label core0 = a.CreateLabel();
        Label core1 = a.CreateLabel();
        Label f = a.CreateLabel();
        Label spare = a.CreateLabel();
        Label waitRuns = a.CreateLabel();
        Label waitReturned = a.CreateLabel();
        Label call = a.CreateLabel();
        Label done = a.CreateLabel();

        a.Label(ref core0);
        if (writerTouchesPageFirst)
        {
            a.lea(rdi, __[spare]);
            a.mov(__byte_ptr[rdi], 0x90);
        }

        a.mov(__dword_ptr[Patched], 1); // core 1 may start calling F now
        a.Label(ref waitRuns);
        a.pause();
        a.cmp(__dword_ptr[Runs], 1000);
        a.jb(waitRuns);
        a.lea(rdi, __[f]);
        a.mov(__byte_ptr[rdi + 1], (byte)NewValue);
        a.Label(ref waitReturned);
        a.pause();
        a.cmp(__dword_ptr[Returned], NewValue);
        a.jne(waitReturned);
        a.cli();
        a.hlt();

        a.Label(ref core1);
        a.cmp(__dword_ptr[Patched], 1);
        a.jne(core1);
        a.Label(ref call);
        a.call(f);
        a.@lock.inc(__dword_ptr[Runs]);
        a.cmp(eax, NewValue);
        a.jne(call);
        a.Label(ref done);
        a.mov(__dword_ptr[Returned], eax);
        a.cli();
        a.hlt();

        a.db(new byte[4096]); // F on a page of its own, apart from both cores' loops
        a.Label(ref f);
        a.mov(eax, OldValue);
        a.ret();
        a.Label(ref spare);
        a.nop();
        return [core0, core1];
    }

    [Test]
    public void CodeWrittenByOneCore_RunsAsWrittenOnTheOther_WhichHadTranslatedIt([Values] bool writerTouchesPageFirst)
    {
        // Arrange
        using TestVm t = TestVm.CreateMulti64(a => Program(a, writerTouchesPageFirst), cores: 2);

        // Act: both cores end in HLT with IF clear once core 1 has seen the new code.
        VmStopInfo stop = t.Run(timeoutMs: 60_000);

        // Assert
        Assert.That(stop.Reason, Is.EqualTo(VmStopReason.AllCoresHalted), stop.Report);
        Assert.That(t.Vm.Memory.TryRead(Returned, out uint returned) ? returned : 0, Is.EqualTo(NewValue));
        Assert.That(t.Vm.Memory.TryRead(Runs, out uint runs) ? runs : 0, Is.GreaterThan(1000u), "core 1 ran the old code first");
    }
}
