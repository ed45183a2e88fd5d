// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Guests;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

public sealed class InterruptTests
{
    [Test]
    public void IntN_RealMode_DeliveredThroughIvtAndIretReturns()
    {
        // Arrange: IVT[0x21] -> 0000:handler; handler prints 'I' to 0xE9 and IRETs; main prints 'R' afterwards.
        using TestVm t = TestVm.Create16(a =>
        {
            Label handler = a.CreateLabel();
            Label main = a.CreateLabel();
            a.jmp(main);
            a.Label(ref handler);
            a.mov(al, (byte)'I');
            a.@out(0xE9, al);
            a.iret();
            a.Label(ref main);
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(__word_ptr[0x21 * 4], 0x7C02);
            a.mov(__word_ptr[(0x21 * 4) + 2], 0);
            a.@int(0x21);
            a.mov(al, (byte)'R');
            a.@out(0xE9, al);
            a.hlt();
        });

        // Act
        t.Run();

        // Assert
        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("IR"));
        Assert.That(t.Core0.InterruptsDelivered, Is.EqualTo(1));
    }

    [Test]
    public void IntN_LongMode_DeliveredThroughIdtGateAndIretqReturns()
    {
        // Arrange: an IDT at DATA with a 64-bit interrupt gate for vector 0x80.
        const ulong idt = TestVm.DataAddress;
        const ulong idtr = TestVm.DataAddress + 0x1000;
        using TestVm t = TestVm.Create64(a =>
        {
            Label handler = a.CreateLabel();
            Label main = a.CreateLabel();
            a.jmp(main);
            a.Label(ref handler);
            a.mov(al, (byte)'L');
            a.@out(0xE9, al);
            a.iretq();
            a.Label(ref main);
            a.lidt(__[idtr]);
            a.@int(0x80);
            a.mov(al, (byte)'M');
            a.@out(0xE9, al);
            a.hlt();
        });
        WriteIdtGate(t, idt, idtr, 0x80, TestVm.LoadAddress + 2);

        // Act
        t.Run();

        // Assert
        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("LM"));
    }

    [TestCase(null, "IM", false)]
    [TestCase(0x1234u, "EM", false)]
    [TestCase(0x1234u, "EM", true, Description = "a second injection refused while the first waits leaves the first's error code alone")]
    public void TryInject_FromAnExit_DeliveredAtTheNextBlockBoundary(uint? errorCode, string expected, bool secondAttempt)
    {
        // Arrange: an IDT gate for vector 0x40; the handler prints I (or E after popping an error code) and returns.
        const ulong idt = TestVm.DataAddress;
        const ulong idtr = TestVm.DataAddress + 0x1000;
        using TestVm t = TestVm.Create64(a =>
        {
            Label handler = a.CreateLabel();
            Label main = a.CreateLabel();
            a.jmp(main);
            a.Label(ref handler);
            if (errorCode is null)
            {
                a.mov(al, (byte)'I');
            }
            else
            {
                a.pop(rbx);
                a.mov(al, (byte)'E');
            }

            a.@out(0xE9, al);
            a.iretq();
            a.Label(ref main);
            a.lidt(__[idtr]);
            Label next = a.CreateLabel();
            a.@out(0x80, al);
            a.jmp(next); // the block ends here: the event is taken at the next block boundary
            a.Label(ref next);
            a.mov(al, (byte)'M');
            a.@out(0xE9, al);
            a.hlt();
        });
        WriteIdtGate(t, idt, idtr, 0x40, TestVm.LoadAddress + 2);
        t.Core0.Controls.SetPort(0x80, true);
        bool accepted = false;
        bool secondAccepted = false;
        t.Vm.ExitHandler = new RecordingExitHandler(e =>
        {
            accepted = e.Core.TryInject(0x40, errorCode);
            secondAccepted = secondAttempt && e.Core.TryInject(0x40, 0xDEAD);
        });

        // Act
        t.Run();

        // Assert: the event ran after the OUT's block, before the next block.
        Assert.That(accepted, Is.True);
        Assert.That(secondAccepted, Is.False);
        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo(expected));
        Assert.That(t.Core0.InterruptsDelivered, Is.EqualTo(1));
        if (errorCode is uint code)
        {
            Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(code), "the error code was pushed");
        }
    }

    [Test]
    public void TryInject_IntoACoreSleepingInHlt_WakesItAndTheEventIsTaken()
    {
        // Arrange: core 1 loads an IDT, sets a flag and halts (the store and the HLT end one translation block, so the
        // baton cannot pass between them); core 0 waits for the flag, then an OUT to 0x80 whose exit injects vector
        // 0x40 into core 1. The handler prints I; core 1 then prints W after its HLT and halts again. No time slice is
        // assumed: core 0 synchronises on core 1's flag.
        const ulong idt = TestVm.DataAddress;
        const ulong idtr = TestVm.DataAddress + 0x1000;
        const ulong ready = TestVm.DataAddress + 0x2000;
        using TestVm t = TestVm.CreateMulti64(
            a =>
            {
                Label core1 = a.CreateLabel();
                Label wait = a.CreateLabel();
                a.mov(al, (byte)'I'); // the handler, at the load address
                a.@out(0xE9, al);
                a.iretq();
                a.Label(ref wait); // core 0 starts here
                a.cmp(__byte_ptr[ready], 0);
                a.je(wait);
                a.@out(0x80, al);
                a.hlt();
                a.Label(ref core1);
                a.lidt(__[idtr]);
                a.mov(__byte_ptr[ready], 1);
                a.hlt();
                a.mov(al, (byte)'W');
                a.@out(0xE9, al);
                a.hlt();
                return [wait, core1];
            },
            cores: 2);
        WriteIdtGate(t, idt, idtr, 0x40, TestVm.LoadAddress);
        t.Core0.Controls.SetPort(0x80, true);
        CoreState stateAtInjection = CoreState.Stopped;
        bool accepted = false;
        t.Vm.ExitHandler = new RecordingExitHandler(e =>
        {
            stateAtInjection = t.Vm.Cores[1].State;
            accepted = t.Vm.Cores[1].TryInject(0x40);
        });

        // Act
        t.Run(timeoutMs: 60_000);

        // Assert
        Assert.That(stateAtInjection, Is.EqualTo(CoreState.Idle), "core 1 slept in HLT when the event came");
        Assert.That(accepted, Is.True);
        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("IW"));
        Assert.That(t.Vm.Cores[1].InterruptsDelivered, Is.EqualTo(1));
    }

    [Test]
    public void TryInject_BadVectorOrOnePending_Refused()
    {
        using TestVm t = TestVm.Create64(a => a.hlt());

        Assert.That(t.Core0.TryInject(256), Is.False);
        Assert.That(t.Core0.TryInject(-1), Is.False);
        Assert.That(t.Core0.TryInject(0x40), Is.True);
        Assert.That(t.Core0.TryInject(0x41), Is.False, "one event at a time, as VMX's entry interruption field");
    }

    [Test]
    public void IntN_NoHandler_StopsWithTripleFaultReport()
    {
        using TestVm t = TestVm.Create64(a =>
        {
            a.nop();
            a.@int(0x81);
            a.hlt();
        });

        t.Vm.Start();
        VmStopInfo? info = t.Vm.WaitForStop(TimeSpan.FromSeconds(10));

        Assert.That(info?.Reason, Is.EqualTo(VmStopReason.Fault));
        Assert.That(info!.Report, Does.Contain("core 0").And.Contain("triple fault").And.Contain("vector 129"));
        Assert.That(info.Report, Does.Contain("RIP 0x"));
    }

    [TestCase(14, true, 'P', Description = "mov rax,[rsi] with RSI at a linear address no page-table entry maps: #PF")]
    [TestCase(0, false, 'E', Description = "div rcx with RCX = 0: #DE, a contributory exception")]
    public void Exception_ThreeInARow_EachDeliveredWithItsVectorNotAsDoubleFault(int vector, bool hasErrorCode, char mark)
    {
        // Arrange: three faulting 3-byte instructions; the handler prints its mark and returns past the instruction. A
        // #DF handler prints D and halts. The engine records each fault it raises and, since it leaves the delivery to
        // us, would make the second one a #DF unless the core resets that record after each delivery.
        const ulong idt = TestVm.DataAddress;
        const ulong idtr = TestVm.DataAddress + 0x1000;
        const ulong handler = TestVm.DataAddress + 0x2000;
        const ulong doubleFaultHandler = TestVm.DataAddress + 0x2100;
        const ulong notMapped = 0x1_0000_0000; // the test guest's page tables map the first 4 GiB only
        using TestVm t = TestVm.Create64(a =>
        {
            a.lidt(__[idtr]);
            a.mov(rsi, notMapped);
            a.xor(ecx, ecx);
            for (int i = 0; i < 3; i++)
            {
                if (vector == 14)
                {
                    a.mov(rax, __qword_ptr[rsi]);
                }
                else
                {
                    a.div(rcx);
                }
            }

            a.mov(al, (byte)'M');
            a.@out(0xE9, al);
            a.hlt();
        });
        (byte[] handlerCode, _) = TestVm.Assemble(64, handler, a =>
        {
            a.mov(al, (byte)mark);
            a.@out(0xE9, al);
            a.add(__qword_ptr[rsp + (hasErrorCode ? 8 : 0)], 3);
            if (hasErrorCode)
            {
                a.add(rsp, 8);
            }

            a.iretq();
            return [];
        });
        (byte[] doubleFaultCode, _) = TestVm.Assemble(64, doubleFaultHandler, a =>
        {
            a.mov(al, (byte)'D');
            a.@out(0xE9, al);
            a.hlt();
            return [];
        });
        t.Vm.Memory.Write(handler, handlerCode);
        t.Vm.Memory.Write(doubleFaultHandler, doubleFaultCode);
        WriteIdtGate(t, idt, idtr, vector, handler);
        WriteIdtGate(t, idt, idtr, 8, doubleFaultHandler);

        // Act
        t.Run();

        // Assert
        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo($"{mark}{mark}{mark}M"));
        Assert.That(t.Core0.InterruptsDelivered, Is.EqualTo(3));
        if (vector == 14)
        {
            Assert.That(t.Core0.ReadRegister(GuestRegister.Cr2), Is.EqualTo(notMapped), "CR2 holds the faulting address after the run");
        }
    }

    /// <summary>Writes a 64-bit interrupt gate for <paramref name="vector"/> to <paramref name="handler"/> into an IDT of
    /// 256 entries at <paramref name="idt"/>, and its IDTR image (limit, base) at <paramref name="idtr"/> for LIDT.</summary>
    internal static void WriteIdtGate(TestVm t, ulong idt, ulong idtr, int vector, ulong handler)
    {
        Span<byte> gate = stackalloc byte[16];
        BitConverter.TryWriteBytes(gate, (ushort)handler);
        BitConverter.TryWriteBytes(gate[2..], IdentityMap.CodeSelector);
        gate[5] = 0x8E;
        BitConverter.TryWriteBytes(gate[6..], (ushort)(handler >> 16));
        BitConverter.TryWriteBytes(gate[8..], (uint)(handler >> 32));
        t.Vm.Memory.Write(idt + ((ulong)vector * 16), gate);
        t.Vm.Memory.TryWrite(idtr, (ushort)(256 * 16 - 1));
        t.Vm.Memory.TryWrite(idtr + 2, idt);
    }
}
