// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Execution;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// RDMSR and WRMSR as guests see them (issue 10): an MSR neither the engine nor our platform implements
/// (<see cref="MsrCatalog"/>) raises #GP(0) at the instruction, as hardware does, through the usual exception delivery;
/// every MSR the catalog lists reads and writes without a fault; the TSC MSR is the guest's TSC.
/// </summary>
public sealed class MsrTests
{
    private const ulong Idtr = TestVm.DataAddress + 0x1000;
    private const ulong Results = TestVm.DataAddress + 0x3000;
    private const ulong Msrs = TestVm.DataAddress + 0x4000;

    [TestCase(0x1234_5678u, false, Description = "no CPU has it; outside the permission map's ranges")]
    [TestCase(0x1234_5678u, true)]
    [TestCase(0x0000_003Au, false, Description = "IA32_FEATURE_CONTROL: not implemented by the engine")]
    [TestCase(0x0000_003Au, true)]
    [TestCase(0xC001_1022u, false, Description = "AMD DE_CFG, in the third range")]
    [TestCase(0x4B56_4D00u, false, Description = "KVM's wall-clock MSR: no paravirtual clock")]
    [TestCase(0x0000_0006u, true, Description = "in the first range")]
    public void Unimplemented_RaisesGp0AtTheInstruction(uint msr, bool write)
    {
        // Arrange
        ulong[] at = [];
        using TestVm t = TestVm.Create64(a =>
        {
            Label instruction = a.CreateLabel();
            a.lidt(__[Idtr]);
            a.mov(ecx, msr);
            a.xor(eax, eax);
            a.xor(edx, edx);
            a.Label(ref instruction);
            if (write)
            {
                a.wrmsr();
            }
            else
            {
                a.rdmsr();
            }

            a.hlt();
            return [instruction];
        }, out at);
        InterceptTests.WriteRecordingHandler(t, 13, hasErrorCode: true);

        // Act
        t.Run();

        // Assert: #GP, error code 0, the return address at the RDMSR/WRMSR (a fault).
        Assert.That(InterceptTests.Read(t, Results), Is.EqualTo(13), "vector");
        Assert.That(InterceptTests.Read(t, Results + 8), Is.Zero, "error code");
        Assert.That(InterceptTests.Read(t, Results + 16), Is.EqualTo(at[0]), "RIP pushed");
    }

    [Test]
    public void EveryCatalogedMsr_ReadsAndWritesBackWithoutAFault()
    {
        // Arrange: for each MSR at Msrs (until 0xFFFFFFFF), RDMSR then WRMSR of the value read; a #GP handler would
        // record vector 13 and the MSR in ECX.
        uint[] msrs = [.. MsrCatalog.All];
        using TestVm t = TestVm.Create64(a =>
        {
            Label loop = a.CreateLabel(), done = a.CreateLabel();
            a.lidt(__[Idtr]);
            a.mov(rsi, Msrs);
            a.Label(ref loop);
            a.mov(ecx, __dword_ptr[rsi]);
            a.cmp(ecx, -1);
            a.je(done);
            a.rdmsr();
            a.wrmsr();
            a.add(rsi, 4);
            a.jmp(loop);
            a.Label(ref done);
            a.mov(__qword_ptr[Results], -1);
            a.hlt();
        });
        InterceptTests.WriteRecordingHandler(t, 13, hasErrorCode: true);
        for (int i = 0; i < msrs.Length; i++)
        {
            Assert.That(t.Vm.Memory.TryWrite(Msrs + ((ulong)i * 4), msrs[i] | ((ulong)uint.MaxValue << 32)), Is.True);
        }

        t.Vm.Memory.TryWrite(Msrs + ((ulong)msrs.Length * 4), (ulong)uint.MaxValue);

        // Act
        t.Run();

        // Assert
        Assert.That(InterceptTests.Read(t, Results), Is.EqualTo(ulong.MaxValue), $"#GP at MSR 0x{t.Core0.ReadRegister(GuestRegister.Rcx):X}");
        Assert.That(t.Core0.Intercepts.Exits, Is.EqualTo(2), "only the platform's TSC MSR exits (its read and its write)");
    }

    [Test]
    public void TimeStampCounterMsr_ReadsTheGuestsTsc_AndAWriteSetsIt()
    {
        // Arrange: RDTSC, RDMSR 0x10, RDTSC (the MSR lies between); then WRMSR 0x10 = 2^48 and RDTSC.
        using TestVm t = TestVm.Create64(a =>
        {
            a.rdtsc();
            a.shl(rdx, 32);
            a.or(rdx, rax);
            a.mov(r8, rdx);
            a.mov(ecx, 0x10);
            a.rdmsr();
            a.shl(rdx, 32);
            a.or(rdx, rax);
            a.mov(r9, rdx);
            a.rdtsc();
            a.shl(rdx, 32);
            a.or(rdx, rax);
            a.mov(r10, rdx);
            a.mov(edx, 0x1_0000);
            a.xor(eax, eax);
            a.wrmsr();
            a.rdtsc();
            a.shl(rdx, 32);
            a.or(rdx, rax);
            a.mov(r11, rdx);
            a.hlt();
        });

        // Act
        t.Run();

        // Assert
        ulong before = t.Core0.ReadRegister(GuestRegister.R8), msr = t.Core0.ReadRegister(GuestRegister.R9), after = t.Core0.ReadRegister(GuestRegister.R10);
        Assert.That(msr, Is.InRange(before, after));
        Assert.That(t.Core0.ReadRegister(GuestRegister.R11), Is.GreaterThanOrEqualTo(1UL << 48));
        Assert.That(t.Core0.ReadRegister(GuestRegister.R11) - (1UL << 48), Is.LessThan(after - before + (1UL << 40)), "the TSC went on from the value written");
    }
}
