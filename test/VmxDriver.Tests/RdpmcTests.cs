// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Execution;
using HyperDbgRemote.VmxDriver.Tests.Privilege;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// RDPMC as hardware performs it (<see cref="CoreIntercepts.PerformanceCounters"/>): AMD's four legacy counters (ECX 0–3,
/// as the CPUID table implies), each reading 0; #GP(0) for another index and at CPL 3 with CR4.PCE clear; with CR4.PCE
/// set, CPL 3 reads them too. No instruction event is set: the platform's own RDPMC intercept performs it.
/// </summary>
public sealed class RdpmcTests
{
    private const ulong Idt = TestVm.DataAddress;
    private const ulong Idtr = TestVm.DataAddress + 0x1000;
    private const ulong Results = TestVm.DataAddress + 0x3000;

    [TestCase(0u)]
    [TestCase(3u)]
    public void Rdpmc_AnExistingCounterAtCpl0_ReadsZero_UpperHalvesCleared(uint counter)
    {
        using TestVm t = TestVm.Create64(a =>
        {
            a.lidt(__[Idtr]);
            a.mov(rax, -1);
            a.mov(rdx, -1);
            a.mov(ecx, counter);
            a.rdpmc();
            a.mov(rbx, 0x55);
            a.hlt();
        });
        InterceptTests.WriteRecordingHandler(t, 6, hasErrorCode: false);
        InterceptTests.WriteRecordingHandler(t, 13, hasErrorCode: true);

        t.Run();

        Assert.That(InterceptTests.Read(t, Results), Is.Zero, "no fault");
        Assert.That((t.Core0.ReadRegister(GuestRegister.Rax), t.Core0.ReadRegister(GuestRegister.Rdx), t.Core0.ReadRegister(GuestRegister.Rbx)), Is.EqualTo((0UL, 0UL, 0x55UL)));
    }

    [TestCase(4u)]
    [TestCase(0x4000_0000u)]
    [TestCase(0xFFFF_FFFFu)]
    public void Rdpmc_ACounterTheCpuDoesNotHave_GeneralProtectionZeroAtTheInstruction(uint counter)
    {
        ulong[] at = [];
        using TestVm t = TestVm.Create64(a =>
        {
            Label rdpmc = a.CreateLabel();
            a.lidt(__[Idtr]);
            a.mov(eax, 0x77);
            a.mov(ecx, counter);
            a.Label(ref rdpmc);
            a.rdpmc();
            a.hlt();
            return [rdpmc];
        }, out at);
        InterceptTests.WriteRecordingHandler(t, 13, hasErrorCode: true);

        t.Run();

        Assert.That(InterceptTests.Read(t, Results), Is.EqualTo(13), "#GP");
        Assert.That(InterceptTests.Read(t, Results + 8), Is.Zero, "error code 0");
        Assert.That(InterceptTests.Read(t, Results + 16), Is.EqualTo(at[0]), "at the RDPMC");
        Assert.That(t.Core0.Intercepts.Exits, Is.EqualTo(1), "performed through the platform's intercept");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Rdpmc_AtCpl3_GeneralProtectionWithCr4PceClear_ReadsWithItSet(bool pce)
    {
        // The user program stores RAX and a marker after the RDPMC, then ends with HLT (#GP at CPL 3).
        using TestVm t = RingGuest.Create(
            a =>
            {
                a.mov(eax, 0x77);
                a.xor(ecx, ecx);
                a.rdpmc();
                a.mov(__qword_ptr[RingGuest.Results], rax);
                a.mov(__qword_ptr[RingGuest.Results + 8], 1);
                a.hlt();
            },
            a =>
            {
                if (pce)
                {
                    a.mov(rax, cr4);
                    a.or(rax, 0x100);
                    a.mov(cr4, rax);
                }

                a.mov(__qword_ptr[RingGuest.Results], 0x99);
            });

        t.Run();

        Assert.That(RingGuest.Read(t.Vm.Memory, RingGuest.Results + 0xF08), Is.EqualTo((ulong)RingGuest.UserCs), "#GP from ring 3");
        Assert.That(RingGuest.Read(t.Vm.Memory, RingGuest.Results + 0xF00), Is.Zero, "error code 0");
        Assert.That(RingGuest.Read(t.Vm.Memory, RingGuest.Results + 8), Is.EqualTo(pce ? 1UL : 0UL), pce ? "RDPMC ran, then the HLT faulted" : "the RDPMC faulted");
        Assert.That(RingGuest.Read(t.Vm.Memory, RingGuest.Results), Is.EqualTo(pce ? 0UL : 0x99UL), pce ? "counter 0 read 0" : "nothing stored");
    }
}
