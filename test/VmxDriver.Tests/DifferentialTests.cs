// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// The same guest program run with no port trapped and with every port trapped (exits handled by the VMX layer, with
/// a post stage) must end in the same state: registers, memory and device output.
/// </summary>
public sealed class DifferentialTests
{
    private static readonly GuestRegister[] s_compared =
    [
        GuestRegister.Rax, GuestRegister.Rcx, GuestRegister.Rdx, GuestRegister.Rbx, GuestRegister.Rsp, GuestRegister.Rbp,
        GuestRegister.Rsi, GuestRegister.Rdi, GuestRegister.Rip, GuestRegister.Rflags,
    ];

    private sealed record Outcome(ulong[] Registers, byte[] Data, string Com1, string DebugConsole, VmStopReason Reason, string? Report);

    private static IEnumerable<TestCaseData> Programs()
    {
        yield return Case("IN/OUT of 1, 2 and 4 bytes (DX and imm8)", a =>
        {
            a.mov(dx, 0x3FF);
            a.mov(eax, 0x1234_5678);
            a.@out(dx, al);
            a.@in(al, dx);
            a.mov(rbx, rax);
            a.@in(ax, dx);
            a.mov(rbp, rax);
            a.mov(rax, 0x7777_7777_7777_7777);
            a.@in(eax, dx);
            a.mov(r8, rax);
            a.mov(al, 0x15);
            a.@out(0x70, al);
            a.@in(al, 0x71);
            a.mov(r9, rax);
            a.@out(0x70, al);
        });
        yield return Case("REP OUTSB DF=0 and DF=1", a =>
        {
            a.mov(rsi, TestVm.DataAddress);
            a.mov(rcx, 16);
            a.mov(dx, 0x3F8);
            a.rep.outsb();
            a.mov(rsi, TestVm.DataAddress + 15);
            a.mov(rcx, 16);
            a.std();
            a.rep.outsb();
            a.cld();
        });
        yield return Case("REP OUTSW and OUTSD to the debug console (split to byte ports)", a =>
        {
            a.mov(rsi, TestVm.DataAddress);
            a.mov(rcx, 4);
            a.mov(dx, 0x402);
            a.rep.outsw();
            a.mov(rcx, 2);
            a.rep.outsd();
        });
        yield return Case("REP INSB/INSW/INSD DF=0 and DF=1", a =>
        {
            a.mov(al, 0x15);
            a.@out(0x70, al);
            a.mov(dx, 0x71);
            a.mov(rdi, TestVm.DataAddress + 0x100);
            a.mov(rcx, 8);
            a.rep.insb();
            a.mov(dx, 0x3FE);
            a.mov(rcx, 4);
            a.rep.insw();
            a.std();
            a.mov(rdi, TestVm.DataAddress + 0x1F0);
            a.mov(rcx, 3);
            a.rep.insd();
            a.cld();
        });
        yield return Case("32-bit address size OUTS/INS", a =>
        {
            a.mov(rsi, 0xFFFF_FFFF_0000_0000 | TestVm.DataAddress);
            a.mov(rdi, 0xFFFF_FFFF_0000_0000 | (TestVm.DataAddress + 0x200));
            a.mov(ecx, 5);
            a.mov(dx, 0x3F8);
            a.AddInstruction(Instruction.CreateOutsb(32, Register.None, RepPrefixKind.Repe));
            a.mov(ecx, 5);
            a.mov(dx, 0x3FF);
            a.AddInstruction(Instruction.CreateInsb(32, RepPrefixKind.Repe));
        });
        yield return Case("fault: OUTS from an address the page tables do not map", a =>
        {
            a.mov(rsi, 0x8000_0000);
            a.mov(rcx, 4);
            a.mov(dx, 0x3F8);
            a.rep.outsb();
        });
    }

    private static TestCaseData Case(string name, Action<Assembler> body) =>
        new TestCaseData(new Action<Assembler>(a =>
        {
            body(a);
            a.hlt();
        })).SetName($"Run_TrappedVersusUntrapped_SameOutcome({name})");

    [TestCaseSource(nameof(Programs))]
    public void Run_TrappedVersusUntrapped_SameOutcome(Action<Assembler> program)
    {
        // Act
        Outcome plain = Run(program, trap: false);
        Outcome trapped = Run(program, trap: true);

        // Assert
        Assert.That(trapped.Reason, Is.EqualTo(plain.Reason));
        Assert.That(trapped.Report, Is.EqualTo(plain.Report));
        Assert.That(trapped.Registers, Is.EqualTo(plain.Registers));
        Assert.That(trapped.Data, Is.EqualTo(plain.Data));
        Assert.That(trapped.Com1, Is.EqualTo(plain.Com1));
        Assert.That(trapped.DebugConsole, Is.EqualTo(plain.DebugConsole));
    }

    private static Outcome Run(Action<Assembler> program, bool trap)
    {
        using TestVm t = TestVm.Create64(program);
        byte[] pattern = Enumerable.Range(0, 0x400).Select(i => (byte)('A' + (i % 26))).ToArray();
        t.Vm.Memory.Write(TestVm.DataAddress, pattern);
        long exits = 0;
        if (trap)
        {
            t.Core0.Controls.SetAll(true);
            t.Vm.ExitHandler = new RecordingExitHandler(e =>
            {
                exits++;
                e.PostStageRequested = true;
            });
        }

        t.Vm.Start();
        VmStopInfo info = t.Vm.WaitForStop(TimeSpan.FromSeconds(10)) ?? throw new AssertionException("the guest did not stop");
        if (trap && info.Reason != VmStopReason.Fault)
        {
            Assert.That(exits, Is.GreaterThan(0), "the trapped run took exits");
        }

        var data = new byte[0x400];
        t.Vm.Memory.Read(TestVm.DataAddress, data);
        return new Outcome(
            s_compared.Select(r => t.Core0.ReadRegister(r)).ToArray(),
            data,
            t.Devices.Com1.Transmitted.Text(),
            t.Devices.DebugConsole.Output.Text(),
            info.Reason,
            info.Report);
    }
}
